// Command gendocs writes gatehouse's Markdown command reference and man
// pages from the cobra command tree (make docs).
package main

import (
	"fmt"
	"os"
)

func main() {
	dir := "docs"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	if err := generateDocs(dir); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}
