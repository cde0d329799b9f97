// Package cron parses schedules and computes their activations: cron
// expressions evaluated on the wall clock of a time zone, and fixed
// intervals anchored to the Unix epoch. It depends on the standard library
// only.
//
// A Schedule answers one question, Next(t): the first activation strictly
// after t. Next is deterministic: every process computes the same instants
// from the same schedule text (given the same tzdata), which is what lets
// several engines sharing a store claim each slot exactly once. All
// instants are returned in UTC.
//
//	s, err := cron.Parse("0 30 2 * * *", "Europe/Berlin")
//	next := s.Next(time.Now()) // 02:30 Berlin time, as a UTC instant
//
// # Expressions
//
// An expression has six fields, seconds first, or five with the seconds
// taken as 0:
//
//	second  minute  hour  day-of-month  month  day-of-week
//	0-59    0-59    0-23  1-31          1-12   0-7 (0 and 7 are Sunday)
//
// A six-field expression is read seconds first, as robfig/cron reads one
// with seconds: "0 0 1 1 * *" is 01:00 on the 1st of every month, not
// midnight on New Year's Day (which is "0 0 0 1 1 *", or "0 0 1 1 *" in
// five fields). There is no year field.
//
// Each field is "*", a value, a range "a-b", a step "*/n", "a-b/n" or
// "a/n" (a to the end of the range), or a comma-separated list of these.
// Months may be written JAN-DEC and days of the week SUN-SAT, in any case.
// "?" means "*" in the two day fields. A step must lie between 1 and the
// size of the field's range.
//
// The day fields also take the items Quartz and Snowflake's USING CRON use
// to name a day by its place in its month, alone or in a list with others:
//
//	L      the last day of the month ("L-3": three days before it)
//	LW     the last weekday (Monday to Friday) of the month
//	15W    the weekday nearest the 15th, within the month ("1W" on a
//	       Saturday is Monday the 3rd; a month without a 31st has no "31W")
//	5L     in day-of-week: the last Friday of the month (any day, by
//	       number or name: "FRIL")
//	5#3    in day-of-week: the third Friday of the month (1 to 5)
//
// "L" alone in day-of-week, which Quartz reads as Saturday, is an error:
// write "6L".
//
// The day fields follow Vixie cron: if both are restricted, that is neither
// starts with "*" or "?", a day matches when either field matches ("0 0 0
// 13 * FRI" fires on every 13th and every Friday); otherwise both must
// match ("0 0 0 * * FRI" fires on Fridays only). Note that "*/2" starts
// with "*": "0 0 0 */2 * MON" fires on Mondays with an odd day of month.
//
// Where taskmill differs on purpose: Quartz (and so Metabase) refuses an
// expression that restricts both day fields (one must be "?"), and taskmill
// ORs them as Vixie cron and robfig/cron do; Quartz numbers the days of the
// week 1-7 from Sunday, taskmill 0-7 with 0 and 7 Sunday, as Vixie cron
// (so Quartz's "6L", the last Friday, is taskmill's "5L").
//
// Parse rejects an expression that can never fire (30 February) with
// ErrNeverFires, and any input longer than MaxLen bytes.
//
// # Descriptors and intervals
//
// Parse also takes @yearly (or @annually), @monthly, @weekly, @daily (or
// @midnight) and @hourly, which are expressions evaluated in the given
// zone, and "@every <duration>" in Go syntax ("@every 90s", "@every
// 1h30m"), which gives an *Interval rather than an *Expr.
//
// An Interval fires at the Unix epoch plus whole multiples of its duration,
// whatever the zone and whenever the process started: "@every 1h" fires on
// every full UTC hour, "@every 7m" at 00:07, 00:14, ... counted from 1970.
// Durations must be at least MinInterval and a whole number of
// milliseconds. Every builds an Interval without failing; its Validate
// method reports a bad duration, and Next on an invalid Interval returns
// the zero time.
//
// # Time zones and DST
//
// An expression matches wall-clock times in its zone, an IANA name such as
// "America/Los_Angeles" ("" is UTC; "Local" is time.Local, which differs
// from machine to machine, so shared schedules should name their zone).
// The zone may also open the expression, as robfig/cron and gocron write
// it: "CRON_TZ=Asia/Tokyo 0 9 * * *" (or "TZ=..."); a prefix and a zone
// given beside it must name the same zone.
// Zone data comes from the system or from a program that imports
// time/tzdata; engines sharing a store should use the same. Where the
// clocks change, a wall-clock time can be missing or happen twice, and each
// Expr has a policy for both:
//
//   - A matching time in a forward gap (02:30 on the night summer time
//     starts) runs at the first instant after the gap, the transition
//     itself, with GapRunAfter (the default); with GapSkip it does not run.
//     Several matches that fall on the transition instant give one
//     activation.
//   - A matching time that happens twice (01:30 on the night summer time
//     ends in Los Angeles) runs at both occurrences if the expression
//     fires through the hour — its second, minute or hour field is "*", a
//     step or a range, as in "*/15 * * * *" or "0 * * * *" — and at its
//     first occurrence only if those three fields are values or lists of
//     values ("30 1 * * *"). That is RepeatByFields, the default, and
//     Cronos's rule: a job every 15 minutes keeps running through the
//     repeated hour (as with robfig/cron and hashicorp's cronexpr), and a
//     daily job at 01:30 runs once. RepeatFirst and RepeatBoth choose one
//     behaviour for every expression.
//
// So a daily job at 02:30 runs once every day, and an interval expression
// has no hole on the night the clocks go back. Choose the policies with
// WithGap and WithRepeat.
//
// String gives a canonical text that includes the zone and any policy that
// changes what the defaults would do ("0 30 2 * * * America/Los_Angeles
// gap=skip"): two schedules with the same String fire at the same
// instants. ParseText parses it back.
//
// # SQL text forms
//
// ParseText reads the SCHEDULE clause of Snowflake and Databend CREATE TASK
// statements: "2 MINUTE" and the like (SECOND, MINUTE, HOUR or DAY,
// singular or plural) give an Interval; "USING CRON '0 0 0 * * *'
// 'Asia/Tokyo'" and Snowflake's unquoted "USING CRON 0 9 * * *
// America/Los_Angeles" give an Expr. It also reads the String of any
// schedule, including Snowflake's L, W and # items.
package cron
