package cli

import (
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/spf13/cobra"
)

// NewCmdStore builds `gatehouse store`.
func NewCmdStore(f *Factory) *cobra.Command {
	cmd := parentCommand(&cobra.Command{
		Use:   "store",
		Short: "The store file: backups",
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent copy of the store to FILE (never overwrites)",
		Long: withExitStatus(`Write a consistent copy of the store, while gatehouse and the server keep
working, to FILE (mode 0600). FILE must not exist. The copy is a complete
store: 'audit verify' accepts it and 'init' recognises it. The live store
records a store.backup event with the copy's audit head, so a restore can be
checked. See docs/operations.md for restoring.`),
		Example: `  gatehouse store backup /var/backups/gatehouse-$(date +%F).db`,
		Args:    exactArgs(1, "FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := gatehouse.ValidatePath("the backup path", args[0]); err != nil {
				return err
			}
			p, db, err := f.PrinterAndStore(cmd.Context())
			if err != nil {
				return err
			}
			info, err := db.Backup(cmd.Context(), f.Actor(), args[0])
			if err != nil {
				return err
			}
			f.IO.Info("backup written to %s (audit head %d)", info.Path, info.Head.Seq)
			return f.Report(p, info)
		},
	})
	return cmd
}
