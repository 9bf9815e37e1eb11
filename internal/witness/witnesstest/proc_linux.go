package witnesstest

import "syscall"

// sysProcAttr lets the kernel end litewitness should the test binary die
// without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
