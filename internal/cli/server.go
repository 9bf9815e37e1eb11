package cli

import (
	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/spf13/cobra"
)

// NewCmdServer builds `gatehouse server`.
func NewCmdServer(f *Factory) *cobra.Command {
	cmd := parentCommand(&cobra.Command{
		Use:   "server",
		Short: "The server's externally reachable address, used in support login URLs",
		Long:  withExitStatus(`The server's externally reachable name or IP address and port. The login URL in every support envelope is built from them.`),
	})
	cmd.AddCommand(newCmdServerConfigure(f, nil), newCmdServerShow(f))
	return cmd
}

// ServerView is what `server show` and `server configure` print.
type ServerView struct {
	Configured bool   `json:"configured"`
	Scheme     string `json:"scheme"`
	Host       string `json:"external_address"`
	Port       int    `json:"port"`
	LoginURL   string `json:"login_url"`
}

func newServerView(a gatehouse.ServerAddress, ok bool) ServerView {
	if !ok {
		return ServerView{}
	}
	return ServerView{Configured: true, Scheme: a.Scheme, Host: a.Host, Port: a.Port, LoginURL: a.LoginURL()}
}

// ServerConfigureOptions are the inputs of `gatehouse server configure`.
type ServerConfigureOptions struct {
	F      *Factory
	Update core.ServerUpdate
}

func newCmdServerConfigure(f *Factory, runF func(*ServerConfigureOptions) error) *cobra.Command {
	opts := &ServerConfigureOptions{F: f}
	var host, scheme string
	var port int
	cmd := &cobra.Command{
		Use:   "configure [--external-address HOST] [--port N] [--scheme https|http]",
		Short: "Set the externally reachable address and port",
		Long: withExitStatus(`Set the server's externally reachable name or IP address and port. HOST is a
DNS name, an IPv4 address or an IPv6 address (brackets optional). The first
time, both are required; later, either may be changed alone. The change is
audited; setting the values already in force changes nothing.`),
		Example: `  gatehouse server configure --external-address vsa.example.com --port 443
  gatehouse server configure --external-address 2001:db8::7 --port 8443
  gatehouse server configure --port 10443`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			if !fl.Changed("external-address") && !fl.Changed("port") && !fl.Changed("scheme") {
				return usageError("nothing to configure: give --external-address, --port or --scheme")
			}
			if fl.Changed("external-address") {
				opts.Update.Host = &host
			}
			if fl.Changed("port") {
				opts.Update.Port = &port
			}
			if fl.Changed("scheme") {
				opts.Update.Scheme = &scheme
			}
			if runF != nil {
				return runF(opts)
			}
			return serverConfigureRun(cmd, opts)
		},
	}
	cmd.Flags().StringVar(&host, "external-address", "", "externally reachable DNS name or IP address")
	cmd.Flags().IntVar(&port, "port", 0, "port (1-65535)")
	cmd.Flags().StringVar(&scheme, "scheme", "https", "URL scheme: https or http")
	return cmd
}

func serverConfigureRun(cmd *cobra.Command, opts *ServerConfigureOptions) error {
	f := opts.F
	p, db, err := f.PrinterAndStore(cmd.Context())
	if err != nil {
		return err
	}
	a, changed, err := db.ConfigureServer(cmd.Context(), f.Actor(), opts.Update)
	if err != nil {
		return err
	}
	if changed {
		f.IO.Info("server address set: %s", a.LoginURL())
	} else {
		f.IO.Info("server address unchanged: %s", a.LoginURL())
	}
	return f.Result(p, changed, newServerView(a, true))
}

func newCmdServerShow(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "show",
		Short:   "Show the configured address and the login URL built from it",
		Long:    withExitStatus(`Show the server's configured external address, port and the login URL built from them.`),
		Example: "  gatehouse server show -o json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, db, err := f.PrinterAndReadStore(cmd.Context())
			if err != nil {
				return err
			}
			a, ok, err := db.ServerAddress(cmd.Context())
			if err != nil {
				return err
			}
			if !ok {
				f.IO.Info("the server address is not configured; run 'gatehouse server configure'")
			}
			return p.Object(newServerView(a, ok))
		},
	}
}
