package cli

import (
	"github.com/spf13/cobra"
)

// NewCmdLicense builds `gatehouse license`.
func NewCmdLicense(f *Factory) *cobra.Command {
	cmd := parentCommand(&cobra.Command{
		Use:   "license",
		Short: "Per-administrator licensing: admin seats used and free",
		Long: withExitStatus(`With per-administrator licensing, every enabled account holding a role uses an
admin seat. The support account never counts, nor do accounts awaiting role
assignment. Assigning a role beyond the seats is refused.`),
	})
	var seats int
	set := &cobra.Command{
		Use:     "set --admin-seats N",
		Short:   "Set the number of admin seats (0: not licensed per administrator)",
		Long:    withExitStatus(`Set the number of admin seats. 0 means the product is not licensed per administrator (no limit). Fewer seats than are in use is refused.`),
		Example: `  gatehouse license set --admin-seats 25`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("admin-seats") {
				return usageError("give --admin-seats N")
			}
			if seats < 0 {
				return usageError("invalid --admin-seats %d: use 0 or more", seats)
			}
			p, db, err := f.PrinterAndStore(cmd.Context())
			if err != nil {
				return err
			}
			l, changed, err := db.SetAdminSeats(cmd.Context(), f.Actor(), seats)
			if err != nil {
				return err
			}
			if !changed {
				f.IO.Info("licence unchanged")
			}
			return f.Result(p, changed, l)
		},
	}
	set.Flags().IntVar(&seats, "admin-seats", 0, "number of admin seats; 0 for no per-administrator limit")
	show := &cobra.Command{
		Use:     "show",
		Short:   "Show admin seats: licensed, used, free",
		Long:    withExitStatus(`Show the admin-seat licence: whether it is per administrator, the seats, and how many are used and free. The support account and pending users use none.`),
		Example: "  gatehouse license show -o json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, db, err := f.PrinterAndReadStore(cmd.Context())
			if err != nil {
				return err
			}
			l, err := db.License(cmd.Context())
			if err != nil {
				return err
			}
			return p.Object(l)
		},
	}
	cmd.AddCommand(set, show)
	return cmd
}
