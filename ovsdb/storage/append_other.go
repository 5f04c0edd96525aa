//go:build !linux

package storage

import "os"

func appendFile(f *os.File, b []byte) error {
	_, err := f.Write(b)
	return err
}
