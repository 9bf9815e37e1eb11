//go:build !linux

package witnesstest

import "syscall"

// sysProcAttr has nothing to add where the kernel cannot end a child with
// its parent: a test binary that dies leaves litewitness running.
func sysProcAttr() *syscall.SysProcAttr { return nil }
