package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/taskmill/taskmill/internal/quote"
)

// Headers a Webhook sets on every request.
const (
	// SignatureHeader carries the body's signature when the webhook has a
	// secret (WithSecret): "t=<unix seconds>,v1=<hex HMAC-SHA256>". See
	// Sign and Verify.
	SignatureHeader = "Taskmill-Signature"
	// MessageIDHeader carries Message.MessageID, the same on every retry,
	// so that receivers can deduplicate without parsing the body.
	MessageIDHeader = "Taskmill-Message-Id"
)

// SignatureToleranceDefault is the largest difference between a
// signature's timestamp and the receiver's clock that Verify accepts when
// given a tolerance of 0 or less.
const SignatureToleranceDefault = 5 * time.Minute

// Sign returns the SignatureHeader value for body signed with secret at
// time t:
//
//	t=<t as Unix seconds>,v1=<lower-case hex of HMAC-SHA256(secret, "<t>.<body>")>
//
// The signed text is the decimal timestamp, a full stop, and the body's
// bytes exactly as sent.
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a SignatureHeader value against the body received and the
// shared secret, and refuses replays: it returns nil when one v1 signature
// in header is the HMAC-SHA256 of "<t>.<body>" with secret (compared in
// constant time), and t is within tolerance of now, in the past or the
// future. A tolerance of 0 or less means SignatureToleranceDefault.
//
// Errors wrap ErrBadSignature (a malformed header, an empty secret, no
// matching signature) or ErrSignatureExpired (a correct signature with a
// timestamp outside the tolerance). Elements other than t and v1 are
// ignored, and several v1 elements may be given, for future schemes and
// secret rotation.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = SignatureToleranceDefault
	}
	if len(secret) == 0 {
		return fmt.Errorf("%w: empty secret", ErrBadSignature)
	}
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("%w: malformed header element %s", ErrBadSignature, quote.Short(part))
		}
		switch k {
		case "t":
			if ts != "" {
				return fmt.Errorf("%w: more than one timestamp", ErrBadSignature)
			}
			ts = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return fmt.Errorf("%w: malformed v1 signature %s", ErrBadSignature, quote.Short(v))
			}
			sigs = append(sigs, sig)
		}
	}
	if ts == "" {
		return fmt.Errorf("%w: no timestamp", ErrBadSignature)
	}
	if len(sigs) == 0 {
		return fmt.Errorf("%w: no v1 signature", ErrBadSignature)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: malformed timestamp %s", ErrBadSignature, quote.Short(ts))
	}
	want := mac(secret, ts, body)
	match := false
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			match = true
		}
	}
	if !match {
		return fmt.Errorf("%w: signature does not match body", ErrBadSignature)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed at %d, %v from now, tolerance %v", ErrSignatureExpired, sec, d.Round(time.Second), tolerance)
	}
	return nil
}
