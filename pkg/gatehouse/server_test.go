package gatehouse_test

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

func TestParseServerAddress(t *testing.T) {
	for _, c := range []struct {
		scheme, host string
		port         int
		url          string
	}{
		{"https", "Support.Example.COM", 443, "https://support.example.com/"},
		{"https", "vsa.example.com.", 8443, "https://vsa.example.com:8443/"},
		{"https", "203.0.113.7", 443, "https://203.0.113.7/"},
		{"http", "203.0.113.7", 8080, "http://203.0.113.7:8080/"},
		{"https", "2001:db8::1", 8443, "https://[2001:db8::1]:8443/"},
		{"https", "[2001:DB8::1]", 443, "https://[2001:db8::1]/"},
	} {
		a, err := gatehouse.ParseServerAddress(c.scheme, c.host, c.port)
		if err != nil {
			t.Errorf("%s %d: %v", c.host, c.port, err)
			continue
		}
		if got := a.LoginURL(); got != c.url {
			t.Errorf("%s %d: LoginURL = %q, want %q", c.host, c.port, got, c.url)
		}
	}
	for _, c := range []struct {
		scheme, host string
		port         int
	}{
		{"https", "", 443}, {"https", "exa mple.com", 443}, {"https", "-bad.example", 443},
		{"https", "a..b", 443}, {"https", "host:443", 443}, {"https", "999.1.1.1", 443},
		{"https", "[example.com]", 443}, {"https", "fe80::1%eth0", 443}, {"https", "0.0.0.0", 443},
		{"https", "example.com", 0}, {"https", "example.com", 65536}, {"ftp", "example.com", 21},
		{"https", "exam'ple.com; DROP TABLE settings", 443}, {"https", "ехаmple.com", 443},
	} {
		if _, err := gatehouse.ParseServerAddress(c.scheme, c.host, c.port); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
			t.Errorf("ParseServerAddress(%q, %q, %d) err = %v, want invalid", c.scheme, c.host, c.port, err)
		}
	}
}
