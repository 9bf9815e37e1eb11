package cli

import (
	"runtime"
	"runtime/debug"

	"github.com/gatehouse-dev/gatehouse/internal/render"
	"github.com/gatehouse-dev/gatehouse/internal/wire"
	"github.com/spf13/cobra"
)

// VersionInfo describes this binary, from the build information Go embeds.
type VersionInfo struct {
	Version       string `json:"version"`
	Revision      string `json:"revision,omitempty"`
	Modified      bool   `json:"modified,omitempty"`
	GoVersion     string `json:"go_version"`
	SchemaVersion int    `json:"schema_version"`
}

func buildVersion() VersionInfo {
	v := VersionInfo{Version: "(devel)", GoVersion: runtime.Version(), SchemaVersion: wire.SchemaVersion(wire.SQLite)}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// NewCmdVersion builds `gatehouse version`; it never opens the store.
func NewCmdVersion(f *Factory) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print the version of gatehouse",
		Long:    withExitStatus(`Print gatehouse's version, the Go version it was built with, and the store schema version it writes. Never reads configuration or the store.`),
		Example: "  gatehouse version -o json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// The root skips configuration for version, so read -o directly.
			output, _ = cmd.Flags().GetString("output")
			format, err := render.ParseFormat(output)
			if err != nil {
				return err
			}
			return render.New(f.IO.Out, format, f.IO.IsStdoutTTY()).Object(buildVersion())
		},
	}
	return cmd
}
