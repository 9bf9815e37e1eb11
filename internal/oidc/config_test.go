package oidc

import (
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*Config)
		want string // "" = valid
	}{
		{"Defaults", func(c *Config) {}, ""},
		{"Discovery", func(c *Config) { c.JWKS, c.Discovery = nil, true }, ""},
		{"LoopbackHTTPIssuer", func(c *Config) { c.Issuer = "http://127.0.0.1:8080/realms/x" }, ""},
		{"LocalhostHTTPIssuer", func(c *Config) { c.Issuer = "http://localhost:9000" }, ""},
		{"IPv6LoopbackHTTPIssuer", func(c *Config) { c.Issuer = "http://[::1]:9000" }, ""},
		{"SkewZero", func(c *Config) { c.Skew = 0 }, ""},
		{"SkewMax", func(c *Config) { c.Skew = MaxSkew }, ""},
		{"AllAlgorithms", func(c *Config) { c.Algorithms = signingAlgorithms }, ""},
		{"MaxAgeAndACRAMR", func(c *Config) {
			c.MaxAge, c.RequireACR, c.RequireAMR = time.Hour, []string{"loa2"}, []string{"mfa"}
		}, ""},

		{"AlgNone", func(c *Config) { c.Algorithms = []string{"RS256", "none"} }, `algorithm "none" is never allowed`},
		{"AlgNoneUpper", func(c *Config) { c.Algorithms = []string{"NONE"} }, `algorithm "none" is never allowed`},
		{"AlgHS256", func(c *Config) { c.Algorithms = []string{"HS256"} }, `algorithm "HS256" is never allowed: HMAC`},
		{"AlgHS512Lower", func(c *Config) { c.Algorithms = []string{"hs512"} }, "is never allowed: HMAC"},
		{"AlgUnknown", func(c *Config) { c.Algorithms = []string{"RS1"} }, `unknown signing algorithm "RS1"`},
		{"AlgLowerCaseRS256", func(c *Config) { c.Algorithms = []string{"rs256"} }, `unknown signing algorithm "rs256"`},
		{"SkewOverFiveMinutes", func(c *Config) { c.Skew = 6 * time.Minute }, "clock skew 6m0s is out of range"},
		{"SkewJustOver", func(c *Config) { c.Skew = MaxSkew + time.Nanosecond }, "out of range"},
		{"SkewNegative", func(c *Config) { c.Skew = -time.Second }, "out of range"},
		{"MaxAgeNegative", func(c *Config) { c.MaxAge = -time.Second }, "negative"},
		{"EmptyACR", func(c *Config) { c.RequireACR = []string{""} }, "acr"},
		{"EmptyAMR", func(c *Config) { c.RequireAMR = []string{"mfa", ""} }, "amr"},
		{"NoIssuer", func(c *Config) { c.Issuer = "" }, "issuer is empty"},
		{"RelativeIssuer", func(c *Config) { c.Issuer = "idp.example.test" }, "not an absolute URL"},
		{"HTTPIssuer", func(c *Config) { c.Issuer = "http://idp.example.test" }, "only https"},
		{"FTPIssuer", func(c *Config) { c.Issuer = "ftp://idp.example.test" }, "not an https URL"},
		{"IssuerWithQuery", func(c *Config) { c.Issuer = "https://idp.example.test/?tenant=1" }, "query"},
		{"IssuerWithFragment", func(c *Config) { c.Issuer = "https://idp.example.test/#x" }, "fragment"},
		{"IssuerWithUser", func(c *Config) { c.Issuer = "https://user:pw@idp.example.test" }, "user name"},
		{"NoClientID", func(c *Config) { c.ClientID = " " }, "client id is empty"},
		{"TwoKeySources", func(c *Config) { c.Discovery = true }, "not both"},
		{"NoKeySource", func(c *Config) { c.JWKS = nil }, "no key source"},
		{"BadJWKS", func(c *Config) { c.JWKS = []byte(`{"keys":[]}`) }, "holds no keys"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := staticConfig(t)
			tc.cfg(&cfg)
			err := cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == "":
				if _, err := New(cfg, Options{}); err != nil {
					t.Fatalf("New: %v", err)
				}
			case err == nil:
				t.Fatalf("accepted; want %q", tc.want)
			case !strings.Contains(err.Error(), tc.want):
				t.Fatalf("got %q; want %q", err, tc.want)
			default:
				if _, nerr := New(cfg, Options{}); nerr == nil || nerr.Error() != err.Error() {
					t.Fatalf("New: %v; want Validate's error", nerr)
				}
				if strings.Contains(err.Error(), "pw@") {
					t.Errorf("message %q holds a password", err)
				}
			}
		})
	}
}
