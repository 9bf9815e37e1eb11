package pgtest

import "syscall"

// sysProcAttr runs the server as cred and, should the test binary die
// without stopping it, lets the kernel end it (SIGQUIT: immediate shutdown,
// which also ends its backends).
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
}
