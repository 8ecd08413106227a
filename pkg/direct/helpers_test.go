package direct_test

import "fmt"

// fmtSscanf reads the dropped-events notice: "<n> drop events were not shown ... (<total> in total)".
func fmtSscanf(s string, n, total *int) (int, error) {
	return fmt.Sscanf(s, "%d drop events were not shown because the live stream could not keep up (%d in total)", n, total)
}
