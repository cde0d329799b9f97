package workload

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/taskmill/taskmill/store/postgres"
	"github.com/taskmill/taskmill/task"
)

// cluster: Procs engine processes (cluster_node.go) on one PostgreSQL
// database, each registering the same N tasks on one every-second
// schedule with a job that only notes its start, as several replicas of a
// service would. Two variants, the "contenders": leases (the engine's
// defaults on a SQL store: node lease, sweep, exclusive records, state
// poll) and no-leases (task.WithLocker(nil): none of those, the slot
// claim only). After a warm-up, Measure whole seconds are measured; the
// processes are then stopped and the executions table is read:
//
//   - every slot once: for every task and slot, at most one record that
//     claims it (trigger schedule or catch-up) and at most one that is not
//     skipped (a run), over the whole table; each of the N × Measure
//     slots of the window must have exactly one of each. A slot the
//     engines could not fire in time is not run: an engine records a run
//     of such slots as one skipped record claiming the first ("missed: n
//     slot(s) from … to …"); the window's slots are counted as run,
//     recorded missed (inside such a record), recorded skipped for
//     another reason (tallied in the note), or with no record at all;
//   - lateness of a record: StartedAt − ScheduledAt (the engine's clock
//     when it admitted the fire's chunk of up to 128 runs, before writing
//     their records), and of a job: its start − its slot, as the job saw
//     it (after its record was written), over the window's runs;
//   - CPU per fire: the CPU time of every engine process between half a
//     second before the window's first slot and half a second before its
//     end, over the runs of the window's slots; beside it the CPU time of
//     the PostgreSQL server processes serving the engines
//     (pg_stat_activity by application_name, /proc/<pid>/stat), where
//     the server runs on this machine;
//   - the machine's other load: its busy CPU time (/proc/stat) less the
//     engines' and their server processes', over the same span, in
//     cores (the machine may be shared; PostgreSQL's background writers
//     and this child count as others).
var cluster = Workload{
	Name:     "cluster",
	Postgres: true,
	Columns: []Column{
		{"rec_p50_ms", "record lateness p50 (ms)", 2},
		{"rec_p99_ms", "p99 (ms)", 2},
		{"job_p50_ms", "job lateness p50 (ms)", 2},
		{"job_p99_ms", "p99 (ms)", 2},
		{"cpu_us_per_fire", "engine CPU per fire (µs)", 1},
		{"db_cpu_us_per_fire", "server CPU per fire (µs)", 1},
		{"expected", "slots expected", 0},
		{"ran", "slots run", 0},
		{"missed", "slots recorded missed", 0},
		{"skipped_other", "slots skipped otherwise", 0},
		{"no_record", "slots with no record", 0},
		{"twice", "slots claimed or run twice", 0},
		{"skipped", "skipped records", 0},
		{"warnings", "engine warnings", 0},
		{"others_cores", "other load (cores)", 2},
	},
	Title: func(p Params) string {
		return fmt.Sprintf("cluster — %d processes on PostgreSQL, %s tasks firing every second", p.Procs, thousands(p.N))
	},
	Run: runCluster,
}

// clusterFailover: Procs engine processes with leases on one PostgreSQL
// database, each registering one task whose job blocks, on a schedule
// that fires it once a few seconds after they start, with
// RecoverAbandoned. One engine's record of the fire is running; after a
// random delay within one renewal interval (so that the kill falls
// anywhere between two renewals) that process is killed (SIGKILL). The
// executions table then says when the record was marked abandoned (its
// EndedAt, the sweeping engine's clock) and when its recovery run started
// (the recovery record's StartedAt); the leases table says when the dead
// node last renewed. Lease TTL and renewal are the engine's defaults
// unless Params say otherwise.
var clusterFailover = Workload{
	Name:     "cluster-failover",
	Postgres: true,
	Columns: []Column{
		{"abandon_s", "kill → abandoned (s)", 2},
		{"recover_s", "kill → recovery run started (s)", 2},
		{"renew_to_abandon_s", "last renewal → abandoned (s)", 2},
		{"kill_after_renew_s", "kill after last renewal (s)", 2},
		{"ttl_s", "lease TTL (s)", 0},
		{"renew_s", "renewal (s)", 0},
	},
	Title: func(p Params) string {
		return fmt.Sprintf("cluster-failover — %d processes on PostgreSQL, the one running a task killed", p.Procs)
	},
	Run: runClusterFailover,
}

// ClusterVariants are the contenders of the cluster workloads.
var ClusterVariants = []string{"leases", "no-leases"}

// clusterTail is how long after the window the engines keep running, so
// that the window's last fires are recorded.
const clusterTail = 1500 * time.Millisecond

// nodeReadyTimeout bounds a node's start: open, migrate, register, Start.
const nodeReadyTimeout = time.Minute

// clusterIdle: as cluster, but the N tasks fire once a year (never while
// measured): the engines' CPU time per second over the window is then
// what holding the cluster together costs, leases (renewal, sweep, state
// poll) or not, whatever the fires.
var clusterIdle = Workload{
	Name:     "cluster-idle",
	Postgres: true,
	Columns: []Column{
		{"cpu_ms_per_s", "engine CPU (ms per second)", 2},
		{"db_cpu_ms_per_s", "server CPU (ms per second)", 2},
		{"warnings", "engine warnings", 0},
		{"others_cores", "other load (cores)", 2},
	},
	Title: func(p Params) string {
		return fmt.Sprintf("cluster-idle — %d processes on PostgreSQL, %s tasks registered, none firing", p.Procs, thousands(p.N))
	},
	Run: func(ctx context.Context, variant string, p Params) (Result, error) {
		return runClusterWindow(ctx, variant, p, true)
	},
}

// onceAYear fires at midnight on the first of January (UTC).
const onceAYear = "0 0 0 1 1 *"

func runCluster(ctx context.Context, variant string, p Params) (Result, error) {
	return runClusterWindow(ctx, variant, p, false)
}

// runClusterWindow measures the cluster workload, or with idle the
// cluster-idle one.
func runClusterWindow(ctx context.Context, variant string, p Params, idle bool) (Result, error) {
	leases, err := clusterVariant(variant)
	if err != nil {
		return Result{}, err
	}
	if p.PostgresDSN == "" {
		return Result{}, errNoPostgres
	}
	if p.Procs < 1 || p.N < 1 || p.Measure < time.Second {
		return Result{}, fmt.Errorf("cluster: want at least 1 process, 1 task and a 1s window (got %d, %d, %v)", p.Procs, p.N, p.Measure)
	}
	db, err := openClusterDB(ctx, p.PostgresDSN)
	if err != nil {
		return Result{}, err
	}
	defer db.close()

	spec := everySecond
	if idle {
		spec = onceAYear
	}
	nodes, err := startNodes(ctx, db, p, nodeConfig{Leases: leases, Tasks: p.N, Spec: spec})
	if err != nil {
		return Result{}, err
	}
	defer nodes.kill()

	from := time.Now().Truncate(time.Second).Add(time.Second + p.Warmup)
	to := from.Add(p.Measure)
	cpuFrom, cpuTo := from.Add(-500*time.Millisecond), to.Add(-500*time.Millisecond)
	sched := nodeSchedule{
		CPUFrom: cpuFrom.UnixNano(), CPUTo: cpuTo.UnixNano(),
		From: from.UnixNano(), To: to.UnixNano(), Stop: to.Add(clusterTail).UnixNano(),
	}
	if err := nodes.send(sched); err != nil {
		return Result{}, err
	}
	// The server's share: its processes serving the engines, read at the
	// same instants as the engines' own CPU time.
	if err := sleepUntil(ctx, cpuFrom); err != nil {
		return Result{}, err
	}
	db0, dbErr := db.serverCPU(ctx)
	m0, mErr := machineCPU()
	if err := sleepUntil(ctx, cpuTo); err != nil {
		return Result{}, err
	}
	db1, dbErr1 := db.serverCPU(ctx)
	m1, mErr1 := machineCPU()
	dbErr = errors.Join(dbErr, dbErr1)
	mErr = errors.Join(mErr, mErr1)

	results, err := nodes.results(ctx, time.Until(to)+clusterTail+30*time.Second)
	if err != nil {
		return Result{}, err
	}
	nodeCPU := time.Duration(0)
	var jobLate []time.Duration
	for _, r := range results {
		nodeCPU += time.Duration(r.CPUNs)
		for _, us := range r.LateUs {
			jobLate = append(jobLate, time.Duration(us)*time.Microsecond)
		}
	}

	if idle {
		window := cpuTo.Sub(cpuFrom).Seconds()
		res := Result{Metrics: map[string]float64{
			"cpu_ms_per_s": ms(nodeCPU) / window,
			"warnings":     float64(nodes.warnings()),
		}}
		if dbErr == nil && db0.n > 0 {
			res.Metrics["db_cpu_ms_per_s"] = ms(db1.since(db0)) / window
		}
		if mErr == nil && dbErr == nil {
			res.Metrics["others_cores"] = (m1.busy - m0.busy - nodeCPU - db1.since(db0)).Seconds() / window
			res.Metrics["steal_cores"] = (m1.steal - m0.steal).Seconds() / window
		}
		if dbErr != nil {
			res.Note = join(res.Note, "server CPU not measured: "+dbErr.Error())
		}
		if w := nodes.warningSample(); w != "" {
			res.Note = join(res.Note, w)
		}
		return res, nil
	}
	slots, err := db.readSlots(ctx)
	if err != nil {
		return Result{}, err
	}
	var (
		recLate                  []time.Duration
		ran, once, twice         int
		missed, ranAndMissed     int
		skipped, inCPU, uncalled int
		skippedOther             int
		reasons                  = map[string]int{}
	)
	for k, s := range slots {
		if s.claims > 1 || s.runs > 1 {
			twice++
		}
		skipped += s.skipped
		if k.slot < from.UnixNano() || k.slot >= to.UnixNano() {
			continue
		}
		if s.runs > 0 {
			ran++
			recLate = append(recLate, s.late)
			inCPU += s.runs
			if s.missed > 0 {
				ranAndMissed++
			}
		} else if s.missed > 0 {
			missed++
		} else if s.skipReason != "" {
			skippedOther++
			reasons[s.skipReason]++
		}
		if s.runs == 1 && s.claims == 1 {
			once++
		}
	}
	expected := p.N * int(p.Measure/time.Second)
	uncalled = expected - ran - missed - skippedOther
	res := Result{Metrics: map[string]float64{
		"expected":       float64(expected),
		"ran":            float64(ran),
		"missed":         float64(missed),
		"ran_and_missed": float64(ranAndMissed),
		"no_record":      float64(uncalled),
		"skipped_other":  float64(skippedOther),
		"twice":          float64(twice),
		"skipped":        float64(skipped),
		"once_pct":       100 * float64(once) / float64(expected),
		"cpu_ms":         ms(nodeCPU),
		"warnings":       float64(nodes.warnings()),
	}}
	if len(recLate) > 0 {
		p50, p99, top := percentiles(recLate)
		res.Metrics["rec_p50_ms"], res.Metrics["rec_p99_ms"], res.Metrics["rec_max_ms"] = ms(p50), ms(p99), ms(top)
	}
	if len(jobLate) > 0 {
		p50, p99, top := percentiles(jobLate)
		res.Metrics["job_p50_ms"], res.Metrics["job_p99_ms"], res.Metrics["job_max_ms"] = ms(p50), ms(p99), ms(top)
	}
	if inCPU > 0 {
		res.Metrics["cpu_us_per_fire"] = us(nodeCPU) / float64(inCPU)
		if dbErr == nil && db0.n > 0 {
			res.Metrics["db_cpu_us_per_fire"] = us(db1.since(db0)) / float64(inCPU)
		}
	}
	// What else the machine did meanwhile (it is shared): its busy time
	// less the engines' and their server processes'.
	if mErr == nil && dbErr == nil {
		window := cpuTo.Sub(cpuFrom).Seconds()
		others := m1.busy - m0.busy - nodeCPU - db1.since(db0)
		res.Metrics["others_cores"] = others.Seconds() / window
		res.Metrics["steal_cores"] = (m1.steal - m0.steal).Seconds() / window
	}
	if ran < expected {
		res.Note = fmt.Sprintf("%d of %d slots of the window did not run (%d recorded missed, %d recorded skipped otherwise, %d not recorded at all)",
			expected-ran, expected, missed, skippedOther, uncalled)
		if len(reasons) > 0 {
			var rs []string
			for r, n := range reasons {
				rs = append(rs, fmt.Sprintf("%d × %q", n, r))
			}
			slices.Sort(rs)
			res.Note += "; skipped: " + strings.Join(rs, ", ")
		}
	}
	if ranAndMissed > 0 {
		res.Note = join(res.Note, fmt.Sprintf("%d slots ran on one engine and are inside another's record of missed slots", ranAndMissed))
	}
	if twice > 0 {
		res.Note = join(res.Note, fmt.Sprintf("%d slots claimed or run more than once", twice))
	}
	if dbErr != nil {
		res.Note = join(res.Note, "server CPU not measured: "+dbErr.Error())
	}
	if w := nodes.warningSample(); w != "" {
		res.Note = join(res.Note, w)
	}
	return res, nil
}

func runClusterFailover(ctx context.Context, variant string, p Params) (Result, error) {
	if variant != "leases" {
		return Result{Note: "no lease, no failover"}, nil
	}
	if p.PostgresDSN == "" {
		return Result{}, errNoPostgres
	}
	if p.Procs < 2 {
		return Result{}, fmt.Errorf("cluster-failover: want at least 2 processes (got %d)", p.Procs)
	}
	ttl, renew := task.LeaseTTLDefault, task.LeaseRenewDefault
	if p.LeaseTTL > 0 {
		ttl, renew = p.LeaseTTL, p.LeaseRenew
	}
	db, err := openClusterDB(ctx, p.PostgresDSN)
	if err != nil {
		return Result{}, err
	}
	defer db.close()

	// One slot, a few seconds ahead, once a day (UTC, as Spec.Cron is
	// read).
	fireAt := time.Now().Truncate(time.Second).Add(8 * time.Second).UTC()
	spec := fmt.Sprintf("%d %d %d * * *", fireAt.Second(), fireAt.Minute(), fireAt.Hour())
	nodes, err := startNodes(ctx, db, p, nodeConfig{Leases: true, Failover: true, Spec: spec, LeaseTTL: p.LeaseTTL, LeaseRenew: p.LeaseRenew})
	if err != nil {
		return Result{}, err
	}
	defer nodes.kill()
	if time.Now().After(fireAt) {
		return Result{}, fmt.Errorf("cluster-failover: the engines took until after the slot to start")
	}
	if err := nodes.send(nodeSchedule{}); err != nil {
		return Result{}, err
	}

	// The fire's record, running on one node.
	var (
		id   [16]byte
		node string
	)
	deadline := fireAt.Add(10 * time.Second)
	for {
		err := db.conn.QueryRow(ctx, `SELECT id, node FROM `+db.table("executions")+
			` WHERE task = 'long' AND trigger = 'schedule' AND state = 'running'`).Scan(&id, &node)
		if err == nil {
			break
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return Result{}, err
		}
		if time.Now().After(deadline) {
			return Result{}, fmt.Errorf("cluster-failover: no running record of the slot %s by %s", fireAt.Format(time.TimeOnly), deadline.Format(time.TimeOnly))
		}
		if err := sleepUntil(ctx, time.Now().Add(20*time.Millisecond)); err != nil {
			return Result{}, err
		}
	}
	victim := nodes.byNode(node)
	if victim == nil {
		return Result{}, fmt.Errorf("cluster-failover: the running record names node %q, none of ours", node)
	}
	if err := sleepUntil(ctx, time.Now().Add(mrand.N(renew))); err != nil {
		return Result{}, err
	}
	if err := victim.cmd.Process.Kill(); err != nil {
		return Result{}, fmt.Errorf("cluster-failover: killing the node: %w", err)
	}
	killed := time.Now()
	victim.cmd.Wait()
	victim.killed = true

	// Marked abandoned within TTL + one renewal of the last renewal; give
	// it twice that.
	var ended time.Time
	deadline = killed.Add(2 * (ttl + renew))
	for {
		var state string
		var endedAt *time.Time
		err := db.conn.QueryRow(ctx, `SELECT state, ended_at FROM `+db.table("executions")+` WHERE id = $1`, id).Scan(&state, &endedAt)
		if err != nil {
			return Result{}, err
		}
		if state == "abandoned" && endedAt != nil {
			ended = *endedAt
			break
		}
		if state != "running" {
			return Result{}, fmt.Errorf("cluster-failover: the killed node's record became %s, not abandoned", state)
		}
		if time.Now().After(deadline) {
			return Result{}, fmt.Errorf("cluster-failover: the killed node's record still running %s after the kill", time.Since(killed).Round(time.Millisecond))
		}
		if err := sleepUntil(ctx, time.Now().Add(50*time.Millisecond)); err != nil {
			return Result{}, err
		}
	}
	res := Result{Metrics: map[string]float64{
		"abandon_s": ended.Sub(killed).Seconds(),
		"ttl_s":     ttl.Seconds(),
		"renew_s":   renew.Seconds(),
	}}
	var renewed time.Time
	err = db.conn.QueryRow(ctx, `SELECT renewed_at FROM `+db.table("leases")+` WHERE key = $1`, "node/"+node).Scan(&renewed)
	if err == nil {
		res.Metrics["renew_to_abandon_s"] = ended.Sub(renewed).Seconds()
		res.Metrics["kill_after_renew_s"] = killed.Sub(renewed).Seconds()
	} else {
		res.Note = join(res.Note, "no lease row for the killed node: "+err.Error())
	}

	// The recovery run: pending from the mark, running once an engine
	// starts it (at the same sweep, or at a later renewal).
	deadline = time.Now().Add(3*renew + 5*time.Second)
	for {
		var state string
		var started time.Time
		err := db.conn.QueryRow(ctx, `SELECT state, started_at FROM `+db.table("executions")+
			` WHERE parent_id = $1 AND trigger = 'recovery'`, id).Scan(&state, &started)
		switch {
		case err == nil && state != "pending":
			res.Metrics["recover_s"] = started.Sub(killed).Seconds()
		case err != nil && !errors.Is(err, pgx.ErrNoRows):
			res.Note = join(res.Note, "reading the recovery run: "+err.Error())
		case time.Now().After(deadline):
			if errors.Is(err, pgx.ErrNoRows) {
				res.Note = join(res.Note, "no recovery record")
			} else {
				res.Note = join(res.Note, "the recovery run never started")
			}
		default:
			if err := sleepUntil(ctx, time.Now().Add(50*time.Millisecond)); err != nil {
				return Result{}, err
			}
			continue
		}
		break
	}
	nodes.stop()
	if _, err := nodes.results(ctx, 30*time.Second); err != nil {
		res.Note = join(res.Note, "stopping the other engines: "+err.Error())
	}
	if w := nodes.warningSample(); w != "" {
		res.Note = join(res.Note, w)
	}
	return res, nil
}

var errNoPostgres = errors.New("the cluster workloads need PostgreSQL (-pg or $TASKMILL_TEST_POSTGRES_URL)")

func clusterVariant(v string) (leases bool, err error) {
	switch v {
	case "leases":
		return true, nil
	case "no-leases":
		return false, nil
	}
	return false, fmt.Errorf("cluster: unknown variant %q (known: %s)", v, strings.Join(ClusterVariants, ", "))
}

// clusterDB is the measuring child's own connection and the tables of one
// measurement: created (migrated) before the engines start, dropped at
// close.
type clusterDB struct {
	dsn, prefix string
	conn        *pgx.Conn
}

func openClusterDB(ctx context.Context, dsn string) (*clusterDB, error) {
	b := make([]byte, 4)
	rand.Read(b)
	db := &clusterDB{dsn: dsn, prefix: "bench_" + hex.EncodeToString(b) + "_"}
	// The store migrates the tables once here, not three times at once
	// in the engines.
	st, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(db.prefix))
	if err != nil {
		return nil, err
	}
	if err := st.Close(); err != nil {
		db.drop()
		return nil, err
	}
	if db.conn, err = pgx.Connect(ctx, dsn); err != nil {
		db.drop()
		return nil, err
	}
	return db, nil
}

// table is the name of one of the measurement's tables. The prefix is
// ours: letters, digits and underscores.
func (db *clusterDB) table(name string) string { return db.prefix + name }

func (db *clusterDB) appName() string { return strings.TrimSuffix(db.prefix, "_") }

func (db *clusterDB) close() {
	if db.conn != nil {
		db.conn.Close(context.Background())
	}
	db.drop()
}

// drop removes every table whose name starts with the prefix (whatever
// migrations created them).
func (db *clusterDB) drop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, db.dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster: dropping the tables:", err)
		return
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables WHERE starts_with(tablename, $1)`, db.prefix)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster: dropping the tables:", err)
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(names) == 0 {
		if err != nil {
			fmt.Fprintln(os.Stderr, "cluster: dropping the tables:", err)
		}
		return
	}
	if _, err := conn.Exec(ctx, "DROP TABLE IF EXISTS "+strings.Join(names, ", ")); err != nil {
		fmt.Fprintln(os.Stderr, "cluster: dropping the tables:", err)
	}
}

type slotKey struct {
	task string
	slot int64 // UnixNano
}

type slotRecords struct {
	claims  int           // records with trigger schedule or catch-up
	runs    int           // records not skipped
	skipped int           // skipped records
	late    time.Duration // StartedAt − ScheduledAt of the (first) run
	// missed counts the records of missed slots (one skipped record for
	// a run of slots, claiming the first) that cover this slot.
	missed int
	// skipReason is the reason of a skipped record of the slot other
	// than missed slots, up to its first digit.
	skipReason string
}

// readSlots reads every record with a slot, by task and slot. A record
// of missed slots ("missed: n slot(s) from first to last …") is counted
// in every slot it covers, a second apart (the cluster's schedule).
func (db *clusterDB) readSlots(ctx context.Context) (map[slotKey]*slotRecords, error) {
	rows, err := db.conn.Query(ctx, `SELECT task, scheduled_at, started_at, trigger, state, skip_reason FROM `+db.table("executions")+
		` WHERE scheduled_at IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[slotKey]*slotRecords{}
	at := func(k slotKey) *slotRecords {
		s := out[k]
		if s == nil {
			s = &slotRecords{}
			out[k] = s
		}
		return s
	}
	var (
		name, trigger, state, reason string
		slot, started                time.Time
	)
	for rows.Next() {
		if err := rows.Scan(&name, &slot, &started, &trigger, &state, &reason); err != nil {
			return nil, err
		}
		s := at(slotKey{name, slot.UnixNano()})
		if trigger == "schedule" || trigger == "catch-up" {
			s.claims++
		}
		if state == "skipped" {
			s.skipped++
			if first, last, ok := missedRange(reason); ok {
				for t := first; !t.After(last); t = t.Add(time.Second) {
					at(slotKey{name, t.UnixNano()}).missed++
				}
			} else {
				if i := strings.IndexAny(reason, "0123456789"); i >= 0 {
					reason = strings.TrimSpace(reason[:i]) + " …"
				}
				s.skipReason = reason
			}
			continue
		}
		if s.runs == 0 {
			s.late = started.Sub(slot)
		}
		s.runs++
	}
	return out, rows.Err()
}

// missedRange parses the skip reason of a record of missed slots:
// "missed: 3 slot(s) from <first> to <last> <why>" (task.recordMissedSlots).
func missedRange(reason string) (first, last time.Time, ok bool) {
	f := strings.Fields(reason)
	if len(f) < 7 || f[0] != "missed:" || f[3] != "from" || f[5] != "to" {
		return first, last, false
	}
	first, err1 := time.Parse(time.RFC3339Nano, f[4])
	last, err2 := time.Parse(time.RFC3339Nano, f[6])
	if err1 != nil || err2 != nil || last.Before(first) || last.Sub(first) > 24*time.Hour {
		return first, last, false
	}
	return first, last, true
}

// serverTime is the CPU time of the server processes serving the
// engines, by process id.
type serverTime struct {
	n    int
	byID map[int]time.Duration
}

// since is the CPU time the processes took from before to t; a process
// new in t counts from zero (one that ended in between is lost).
func (t serverTime) since(before serverTime) time.Duration {
	var d time.Duration
	for pid, c := range t.byID {
		d += c - before.byID[pid]
	}
	return d
}

// serverCPU reads the CPU time of the server processes whose
// application_name is the engines', from /proc (the server must run on
// this machine).
func (db *clusterDB) serverCPU(ctx context.Context) (serverTime, error) {
	rows, err := db.conn.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, db.appName())
	if err != nil {
		return serverTime{}, err
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return serverTime{}, err
	}
	t := serverTime{byID: map[int]time.Duration{}}
	for _, pid := range pids {
		c, err := procCPU(int(pid))
		if err != nil {
			return serverTime{}, fmt.Errorf("the server's processes are not readable here (%w)", err)
		}
		t.byID[int(pid)] = c
		t.n++
	}
	return t, nil
}

// machineTime is the machine's CPU time so far from /proc/stat: busy
// (user, nice, system, irq, softirq; guest time is in user) and stolen
// by the hypervisor.
type machineTime struct{ busy, steal time.Duration }

func machineCPU() (machineTime, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineTime{}, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return machineTime{}, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var v [8]int64
	for i := range v {
		if v[i], err = strconv.ParseInt(f[i+1], 10, 64); err != nil {
			return machineTime{}, fmt.Errorf("/proc/stat: %w", err)
		}
	}
	// user nice system idle iowait irq softirq steal
	tick := 10 * time.Millisecond
	return machineTime{
		busy:  time.Duration(v[0]+v[1]+v[2]+v[5]+v[6]) * tick,
		steal: time.Duration(v[7]) * tick,
	}, nil
}

// procCPU is utime + stime of a process from /proc/<pid>/stat, in clock
// ticks of 10 ms (USER_HZ is 100 on Linux).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: fields count
	// from after its closing one.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	// f[0] is the state (field 3); utime and stime are fields 14 and 15.
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// nodeProcs are the engine processes of one measurement.
type nodeProcs []*nodeProc

type nodeProc struct {
	node   string
	cmd    *exec.Cmd
	in     *bufio.Writer
	inRaw  interface{ Close() error }
	msgs   chan nodeMsg // the lines it writes; closed at its end
	stderr *lockedBuffer
	killed bool
}

// startNodes starts p.Procs engine processes with cfg (and the
// measurement's prefix and node ids) and waits until each is ready.
func startNodes(ctx context.Context, db *clusterDB, p Params, cfg nodeConfig) (nodeProcs, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cfg.Prefix, cfg.AppName = db.prefix, db.appName()
	var nodes nodeProcs
	for i := range p.Procs {
		c := cfg
		c.Node = fmt.Sprintf("%sn%d", db.prefix, i)
		n := &nodeProc{node: c.Node, msgs: make(chan nodeMsg, 4), stderr: &lockedBuffer{}}
		n.cmd = exec.Command(exe, "-cluster-node")
		// The DSN goes by the environment, not the command line.
		n.cmd.Env = append(os.Environ(), "TASKMILL_TEST_POSTGRES_URL="+db.dsn)
		n.cmd.Stderr = n.stderr
		stdin, err := n.cmd.StdinPipe()
		if err != nil {
			nodes.kill()
			return nil, err
		}
		stdout, err := n.cmd.StdoutPipe()
		if err != nil {
			nodes.kill()
			return nil, err
		}
		if err := n.cmd.Start(); err != nil {
			nodes.kill()
			return nil, err
		}
		n.in, n.inRaw = bufio.NewWriter(stdin), stdin
		go func() {
			defer close(n.msgs)
			sc := bufio.NewScanner(stdout)
			sc.Buffer(make([]byte, 64<<10), 64<<20)
			for sc.Scan() {
				var m nodeMsg
				if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
					m.Error = "a bad line: " + err.Error()
				}
				n.msgs <- m
			}
		}()
		nodes = append(nodes, n)
		if err := n.write(c); err != nil {
			nodes.kill()
			return nil, err
		}
	}
	timeout := time.After(nodeReadyTimeout)
	for _, n := range nodes {
		select {
		case m, ok := <-n.msgs:
			switch {
			case !ok:
				err = fmt.Errorf("cluster: node %s ended before it was ready: %s", n.node, lastLines(n.stderr.String(), 3))
			case m.Error != "":
				err = fmt.Errorf("cluster: node %s: %s", n.node, m.Error)
			case !m.Ready:
				err = fmt.Errorf("cluster: node %s: not ready", n.node)
			}
		case <-timeout:
			err = fmt.Errorf("cluster: node %s not ready after %s", n.node, nodeReadyTimeout)
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			nodes.kill()
			return nil, err
		}
	}
	return nodes, nil
}

func (n *nodeProc) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := n.in.Write(b); err != nil {
		return err
	}
	return n.in.Flush()
}

// send writes the schedule to every node.
func (ns nodeProcs) send(s nodeSchedule) error {
	for _, n := range ns {
		if err := n.write(s); err != nil {
			return fmt.Errorf("cluster: node %s: %w", n.node, err)
		}
	}
	return nil
}

// stop asks every live node to stop now.
func (ns nodeProcs) stop() {
	for _, n := range ns {
		if !n.killed {
			n.in.WriteString("stop\n")
			n.in.Flush()
		}
	}
}

// results waits for every live node's result and end.
func (ns nodeProcs) results(ctx context.Context, within time.Duration) ([]nodeResult, error) {
	timeout := time.After(within)
	var out []nodeResult
	for _, n := range ns {
		if n.killed {
			continue
		}
		for done := false; !done; {
			select {
			case m, ok := <-n.msgs:
				switch {
				case !ok:
					return nil, fmt.Errorf("cluster: node %s ended without a result: %s", n.node, lastLines(n.stderr.String(), 3))
				case m.Error != "":
					return nil, fmt.Errorf("cluster: node %s: %s", n.node, m.Error)
				case m.Result != nil:
					if m.Result.Shut != "" {
						return nil, fmt.Errorf("cluster: node %s: shutdown: %s", n.node, m.Result.Shut)
					}
					out = append(out, *m.Result)
					done = true
				}
			case <-timeout:
				return nil, fmt.Errorf("cluster: node %s gave no result within %s", n.node, within)
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		n.inRaw.Close()
		n.cmd.Wait()
		n.killed = true // ended
	}
	return out, nil
}

// kill ends every node still running.
func (ns nodeProcs) kill() {
	for _, n := range ns {
		if !n.killed && n.cmd.Process != nil {
			n.cmd.Process.Kill()
			n.cmd.Wait()
			n.killed = true
		}
	}
}

func (ns nodeProcs) byNode(node string) *nodeProc {
	for _, n := range ns {
		if n.node == node {
			return n
		}
	}
	return nil
}

// warnings counts the engines' warning and error log lines.
func (ns nodeProcs) warnings() int {
	c := 0
	for _, n := range ns {
		c += len(logLines(n.stderr.String()))
	}
	return c
}

// warningSample names the first few distinct warnings of the engines.
func (ns nodeProcs) warningSample() string {
	var seen []string
	total := 0
	for _, n := range ns {
		for _, l := range logLines(n.stderr.String()) {
			total++
			if !slices.Contains(seen, l) && len(seen) < 3 {
				seen = append(seen, l)
			}
		}
	}
	if total == 0 {
		return ""
	}
	return fmt.Sprintf("%d engine warnings, such as: %s", total, strings.Join(seen, "; "))
}

// logLines are an engine's log lines as "level: message: error", or the
// raw line when it is not the logger's JSON (a panic).
func logLines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l == "" {
			continue
		}
		var e struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Error string `json:"error"`
		}
		if json.Unmarshal([]byte(l), &e) != nil {
			out = append(out, l)
			continue
		}
		t := e.Level + ": " + e.Msg
		if e.Error != "" {
			t += ": " + e.Error
		}
		out = append(out, t)
	}
	return out
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// lockedBuffer is a bytes.Buffer a process's output goroutine writes while
// the child reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
