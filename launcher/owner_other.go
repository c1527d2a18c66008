//go:build !unix

package launcher

// mayCreate leaves ownership to the ACLs where there are no Unix owners.
func mayCreate(dir string) error { return nil }
