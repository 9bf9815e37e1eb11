// Package config resolves the client-side settings of a gatehouse command —
// which store, which output format, who the actor is — and is the only
// importer of viper.
//
// Precedence, highest first: command-line flag, GATEHOUSE_* environment
// variable, configuration file, default. The configuration file is the one
// named by --config (or GATEHOUSE_CONFIG); without one, the system file
// /etc/gatehouse/config.yaml is read and the user's XDG file
// ($XDG_CONFIG_HOME/gatehouse/config.yaml) is laid over it, key by key.
//
// Server settings that must be audited (SSO, support, seats) are never
// here: they live in the store and change only through commands.
package config

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"gopkg.in/yaml.v3"
)

// SystemFile is the system-wide configuration file.
var SystemFile = "/etc/gatehouse/config.yaml"

// Config is the resolved client-side configuration.
type Config struct {
	Store   string
	Tenant  string
	Output  string
	Actor   string
	NoColor bool
	Quiet   bool

	// Sources says where each setting's value came from, by key (store,
	// output, no_color, …), for 'gatehouse config client'.
	Sources map[string]Source
	// Files are the configuration files read, in the order they were laid
	// over one another; FilesFrom is what chose them.
	Files     []string
	FilesFrom Source
}

// Source is where a setting's value came from.
type Source struct {
	// Kind is flag, env, file, default or unset.
	Kind string
	// Name is the flag (--store), the environment variable
	// (GATEHOUSE_STORE) or the file's path; empty for default and unset.
	Name string
}

// String is the source as one word and its name: "env GATEHOUSE_STORE".
func (s Source) String() string {
	if s.Name == "" {
		return s.Kind
	}
	return s.Kind + " " + s.Name
}

// Keys are the configuration's keys in the order 'config client' lists them.
var Keys = []string{"store", "tenant", "output", "actor", "no_color", "quiet"}

// file is the configuration file's schema. Decoding is strict: an unknown
// key is an error naming its line, so a typo never silently does nothing.
type file struct {
	Store   *string `yaml:"store"`
	Tenant  *string `yaml:"tenant"`
	Output  *string `yaml:"output"`
	Actor   *string `yaml:"actor"`
	NoColor *bool   `yaml:"no_color"`
	Quiet   *bool   `yaml:"quiet"`
}

// keys maps each setting to its flag name; the environment variable is
// GATEHOUSE_ and the key in upper case.
var keys = map[string]string{
	"store":    "store",
	"tenant":   "tenant",
	"output":   "output",
	"actor":    "actor",
	"no_color": "no-color",
	"quiet":    "quiet",
}

// Load resolves the configuration from flags (after parsing), the
// environment and the configuration files.
func Load(flags *pflag.FlagSet) (*Config, error) {
	v := viper.New()
	v.SetEnvPrefix("GATEHOUSE")
	for key, flag := range keys {
		if f := flags.Lookup(flag); f != nil {
			if err := v.BindPFlag(key, f); err != nil {
				return nil, err
			}
		}
		if err := v.BindEnv(key); err != nil {
			return nil, err
		}
	}
	v.SetDefault("store", defaultStore())
	v.SetDefault("output", "table")

	cfg := Config{Sources: map[string]Source{}, FilesFrom: Source{Kind: "default"}}
	explicit, _ := flags.GetString("config")
	if explicit != "" {
		cfg.FilesFrom = Source{Kind: "flag", Name: "--config"}
	} else if explicit = os.Getenv("GATEHOUSE_CONFIG"); explicit != "" {
		cfg.FilesFrom = Source{Kind: "env", Name: "GATEHOUSE_CONFIG"}
	}
	files := []string{SystemFile, userFile()}
	if explicit != "" {
		files = []string{explicit}
	}
	fromFile := map[string]string{}
	for _, name := range files {
		if name == "" {
			continue
		}
		m, err := readFile(name, name == explicit)
		if err != nil {
			return nil, err
		}
		if m == nil {
			continue
		}
		cfg.Files = append(cfg.Files, name)
		for k := range m {
			fromFile[k] = name // a later file overrides an earlier one
		}
		if err := v.MergeConfigMap(m); err != nil {
			return nil, gatehouse.Wrap(gatehouse.EINVALID, err, "config file %s: %v", name, err)
		}
	}
	for _, key := range Keys {
		cfg.Sources[key] = source(flags, key, fromFile)
	}
	cfg.Store = v.GetString("store")
	cfg.Tenant = v.GetString("tenant")
	cfg.Output = v.GetString("output")
	cfg.Actor = v.GetString("actor")
	var err error
	if cfg.NoColor, err = strictBool(v, flags, "no_color"); err != nil {
		return nil, err
	}
	if cfg.Quiet, err = strictBool(v, flags, "quiet"); err != nil {
		return nil, err
	}
	if cfg.Store == "" {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "no store path: set --store or GATEHOUSE_STORE (HOME is not set, so there is no default)")
	}
	if err := gatehouse.ValidatePath("the store path", cfg.Store); err != nil {
		return nil, err
	}
	if cfg.Tenant != "" {
		if err := gatehouse.ValidateTenantID(cfg.Tenant); err != nil {
			return nil, err
		}
	}
	return &cfg, nil
}

// source is where key's value comes from, in viper's precedence: a flag
// given, a non-empty environment variable (empty is unset), the last file
// that sets it, the default.
func source(flags *pflag.FlagSet, key string, fromFile map[string]string) Source {
	if f := flags.Lookup(keys[key]); f != nil && f.Changed {
		return Source{Kind: "flag", Name: "--" + keys[key]}
	}
	if env := "GATEHOUSE_" + strings.ToUpper(key); os.Getenv(env) != "" {
		return Source{Kind: "env", Name: env}
	}
	if name, ok := fromFile[key]; ok {
		return Source{Kind: "file", Name: name}
	}
	if key == "tenant" || key == "actor" {
		return Source{Kind: "unset"}
	}
	return Source{Kind: "default"}
}

// strictBool is a boolean setting: the flag when given, else its
// environment variable read strictly (gatehouse.ParseBool: GATEHOUSE_QUIET=maybe
// is an error, as it is in the configuration file, never a silent false),
// else the files and the default.
func strictBool(v *viper.Viper, flags *pflag.FlagSet, key string) (bool, error) {
	if f := flags.Lookup(keys[key]); f != nil && f.Changed {
		return v.GetBool(key), nil
	}
	env := "GATEHOUSE_" + strings.ToUpper(key)
	if s := os.Getenv(env); s != "" { // empty is unset
		b, err := gatehouse.ParseBool(s)
		if err != nil {
			return false, gatehouse.Errorf(gatehouse.EINVALID, "%s is %s", env, gatehouse.ErrorMessage(err))
		}
		return b, nil
	}
	return v.GetBool(key), nil
}

// readFile reads one configuration file strictly. A missing file is not an
// error unless it was named explicitly.
func readFile(name string, required bool) (map[string]any, error) {
	if required {
		if err := gatehouse.ValidatePath("the config file name", name); err != nil {
			return nil, err
		}
	}
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) && !required {
		return nil, nil
	}
	if err != nil {
		return nil, gatehouse.Wrap(gatehouse.EINVALID, err, "config file %s: %v", name, gatehouse.PathCause(err))
	}
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, gatehouse.Wrap(gatehouse.EINVALID, err, "config file %s: %s", name, yamlError(err))
	}
	m := map[string]any{}
	if f.Store != nil {
		// Relative to the file, so the same file means the same store
		// whatever the working directory (cron's is arbitrary).
		store := *f.Store
		if store != "" && !filepath.IsAbs(store) && !isURL(store) {
			store = filepath.Join(filepath.Dir(name), store)
		}
		m["store"] = store
	}
	if f.Tenant != nil {
		m["tenant"] = *f.Tenant
	}
	if f.Output != nil {
		m["output"] = *f.Output
	}
	if f.Actor != nil {
		m["actor"] = *f.Actor
	}
	if f.NoColor != nil {
		m["no_color"] = *f.NoColor
	}
	if f.Quiet != nil {
		m["quiet"] = *f.Quiet
	}
	return m, nil
}

// yamlError is yaml.v3's message for a configuration file without the
// file's content: the line and what is wrong there, never the text of the
// line, which may be a secret pasted into the wrong file. An unknown key
// is not named either; the known ones are.
func yamlError(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return YAMLError(te.Errors[0])
	}
	return YAMLError(err.Error())
}

// YAMLError rewrites one yaml.v3 error message so that it quotes no content
// of the document (see yamlError); the policy file uses it too.
func YAMLError(msg string) string {
	msg = strings.TrimSpace(strings.ReplaceAll(strings.TrimPrefix(msg, "yaml: "), "unmarshal errors:", ""))
	line := ""
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, msg = m[1]+": ", m[2]
	}
	switch m := yamlType.FindStringSubmatch(msg); {
	case unknownField.MatchString(msg):
		msg = "unknown key (known keys: " + strings.Join(knownKeys(), ", ") + ")"
	case m != nil:
		msg = "wrong type of value (want a " + m[1] + ")"
	default:
		msg = yamlQuoted.ReplaceAllString(msg, "…")
	}
	return line + msg
}

var (
	yamlLine = regexp.MustCompile(`^(line \d+): (.*)$`)
	yamlType = regexp.MustCompile(`^cannot unmarshal .* into (\S+)$`)
	// Punctuation yaml.v3 names in a syntax error (',' or ']') is kept.
	yamlQuoted   = regexp.MustCompile("`[^`]*`|\"[^\"]*\"|'[^']{2,}'")
	unknownField = regexp.MustCompile(`^field .* not found in type \S+$`)
)

// knownKeys are the configuration file's keys, sorted.
func knownKeys() []string {
	ks := make([]string, 0, len(keys))
	for k := range keys {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// defaultStore is the store path under the XDG state directory.
func defaultStore() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "gatehouse", "gatehouse.db")
	}
	if h, err := os.UserHomeDir(); err == nil && h != "" {
		return filepath.Join(h, ".local", "state", "gatehouse", "gatehouse.db")
	}
	return ""
}

// userFile is the user's configuration file under the XDG config directory.
func userFile() string {
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "gatehouse", "config.yaml")
	}
	if h, err := os.UserHomeDir(); err == nil && h != "" {
		return filepath.Join(h, ".config", "gatehouse", "config.yaml")
	}
	return ""
}

// isURL reports whether a store location is a URL (postgres://,
// postgresql://, sqlite:), which is never relative to the file.
func isURL(s string) bool {
	for _, p := range []string{"postgres://", "postgresql://", "sqlite:"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// EnvVars are the environment variables Load reads, sorted: GATEHOUSE_
// followed by each setting's key in upper case, and GATEHOUSE_CONFIG.
func EnvVars() []string {
	vars := []string{"GATEHOUSE_CONFIG"}
	for _, k := range knownKeys() {
		vars = append(vars, "GATEHOUSE_"+strings.ToUpper(k))
	}
	sort.Strings(vars)
	return vars
}
