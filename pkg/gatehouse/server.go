package gatehouse

import (
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// ServerAddress is how the vendor's engineers reach this server: the
// externally reachable name or IP and port that go into the login URL of a
// support envelope (the seed's "external name / IP address" and IIS port).
type ServerAddress struct {
	Scheme string `json:"scheme"`
	Host   string `json:"external_address"`
	Port   int    `json:"port"`
}

// ParseServerAddress validates and normalises an external address, port and
// scheme. host is a DNS name (letters, digits, '-' in dot-separated labels;
// lower-cased), an IPv4 address or an IPv6 address with or without brackets.
func ParseServerAddress(scheme, host string, port int) (ServerAddress, error) {
	if scheme != "https" && scheme != "http" {
		return ServerAddress{}, Errorf(EINVALID, "invalid scheme %q: use https or http", Clip(scheme, 20))
	}
	if port < 1 || port > 65535 {
		return ServerAddress{}, Errorf(EINVALID, "invalid port %d: use 1 to 65535", port)
	}
	h, err := normaliseHost(host)
	if err != nil {
		return ServerAddress{}, err
	}
	return ServerAddress{Scheme: scheme, Host: h, Port: port}, nil
}

func normaliseHost(host string) (string, error) {
	bare := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if addr, err := netip.ParseAddr(bare); err == nil {
		if addr.Zone() != "" {
			return "", Errorf(EINVALID, "invalid external address %q: a zoned IPv6 address is not reachable from outside", Clip(host, 60))
		}
		if addr.IsUnspecified() {
			return "", Errorf(EINVALID, "invalid external address %q: the unspecified address is not reachable", Clip(host, 60))
		}
		return addr.String(), nil
	}
	if bare != host {
		return "", Errorf(EINVALID, "invalid external address %q: brackets hold an IPv6 address", Clip(host, 60))
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if name == "" || len(name) > 253 {
		return "", Errorf(EINVALID, "invalid external address %q: use a DNS name, an IPv4 or an IPv6 address", Clip(host, 60))
	}
	for _, label := range strings.Split(name, ".") {
		if !validLabel(label) {
			return "", Errorf(EINVALID, "invalid external address %q: %q is not a DNS label (letters, digits and '-', 1 to 63 characters, no '-' at either end)", Clip(host, 60), Clip(label, 63))
		}
	}
	if allDigitsAndDots(name) {
		return "", Errorf(EINVALID, "invalid external address %q: not a valid IPv4 address", Clip(host, 60))
	}
	return name, nil
}

func validLabel(l string) bool {
	if len(l) < 1 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for _, c := range l {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func allDigitsAndDots(s string) bool {
	return strings.Trim(s, "0123456789.") == ""
}

// LoginURL is the URL the vendor's engineers open: IPv6 literals are
// bracketed, and the scheme's default port is left out.
func (a ServerAddress) LoginURL() string {
	hostport := net.JoinHostPort(a.Host, strconv.Itoa(a.Port))
	if (a.Scheme == "https" && a.Port == 443) || (a.Scheme == "http" && a.Port == 80) {
		hostport = a.Host
		if strings.Contains(a.Host, ":") {
			hostport = "[" + a.Host + "]"
		}
	}
	return (&url.URL{Scheme: a.Scheme, Host: hostport, Path: "/"}).String()
}
