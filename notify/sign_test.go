package notify_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/taskmill/taskmill/notify"
)

func TestSignFormat(t *testing.T) {
	t.Parallel()
	// Known answer: HMAC-SHA256("secret", "1710815841.{}") computed
	// independently (printf '1710815841.{}' | openssl dgst -sha256 -hmac secret).
	got := notify.Sign([]byte("secret"), []byte("{}"), time.Unix(1710815841, 999))
	want := "t=1710815841,v1=" + knownMAC
	if got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}

func TestSignVerify(t *testing.T) {
	t.Parallel()
	secret := []byte("0123456789abcdef0123456789abcdef")
	body := []byte(`{"version":"1.0"}`)
	signedAt := time.Unix(1710815841, 0)
	h := notify.Sign(secret, body, signedAt)
	tol := 5 * time.Minute

	for _, tc := range []struct {
		name   string
		secret []byte
		header string
		body   []byte
		now    time.Time
		tol    time.Duration
		want   error
	}{
		{"ok", secret, h, body, signedAt, tol, nil},
		{"ok late within tolerance", secret, h, body, signedAt.Add(tol), tol, nil},
		{"ok early within tolerance", secret, h, body, signedAt.Add(-tol), tol, nil},
		{"default tolerance", secret, h, body, signedAt.Add(4 * time.Minute), 0, nil},
		{"spaces", secret, strings.ReplaceAll(h, ",", ", "), body, signedAt, tol, nil},
		{"extra elements and signatures", secret, "v0=abc," + strings.Replace(h, ",", ",v1="+strings.Repeat("00", 32)+",", 1), body, signedAt, tol, nil},
		{"tampered body", secret, h, []byte(`{"version":"2.0"}`), signedAt, tol, notify.ErrBadSignature},
		{"wrong secret", []byte("other secret"), h, body, signedAt, tol, notify.ErrBadSignature},
		{"empty secret", nil, h, body, signedAt, tol, notify.ErrBadSignature},
		{"tampered timestamp", secret, strings.Replace(h, "t=1710815841", "t=1710815842", 1), body, signedAt, tol, notify.ErrBadSignature},
		{"expired", secret, h, body, signedAt.Add(tol + time.Second), tol, notify.ErrSignatureExpired},
		{"expired default tolerance", secret, h, body, signedAt.Add(6 * time.Minute), 0, notify.ErrSignatureExpired},
		{"future", secret, h, body, signedAt.Add(-tol - time.Second), tol, notify.ErrSignatureExpired},
		{"empty header", secret, "", body, signedAt, tol, notify.ErrBadSignature},
		{"no timestamp", secret, "v1=" + knownMAC, body, signedAt, tol, notify.ErrBadSignature},
		{"no signature", secret, "t=1710815841", body, signedAt, tol, notify.ErrBadSignature},
		{"two timestamps", secret, "t=1,t=2,v1=" + knownMAC, body, signedAt, tol, notify.ErrBadSignature},
		{"bad timestamp", secret, "t=abc,v1=" + knownMAC, body, signedAt, tol, notify.ErrBadSignature},
		{"bad hex", secret, "t=1710815841,v1=zz", body, signedAt, tol, notify.ErrBadSignature},
		{"short signature", secret, "t=1710815841,v1=abcd", body, signedAt, tol, notify.ErrBadSignature},
		{"no equals", secret, "t=1710815841,v1", body, signedAt, tol, notify.ErrBadSignature},
	} {
		err := notify.Verify(tc.secret, tc.header, tc.body, tc.now, tc.tol)
		if tc.want == nil && err != nil {
			t.Errorf("%s: Verify = %v, want nil", tc.name, err)
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: Verify = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("t=1710815841,v1="+knownMAC, []byte("{}"), int64(1710815841))
	f.Add("t=,v1=", []byte(""), int64(0))
	f.Add(",,,=", []byte("x"), int64(-1))
	secret := []byte("secret")
	f.Fuzz(func(t *testing.T, header string, body []byte, unix int64) {
		now := time.Unix(unix, 0)
		_ = notify.Verify(secret, header, body, now, time.Minute) // must not panic
		if err := notify.Verify(secret, notify.Sign(secret, body, now), body, now, time.Minute); err != nil {
			t.Fatalf("Verify(Sign) = %v", err)
		}
	})
}

// knownMAC is HMAC-SHA256("secret", "1710815841.{}") in hex.
const knownMAC = "a4cc62083204581c2b21064097d5f0b542c955951913177a2a94c881710baeb2"
