package sqlite

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
)

// The SQLite file header (https://sqlite.org/fileformat2.html#the_database_header)
// is read directly, before the driver opens a file, so that a database that
// is not a gatehouse store is refused before SQLite could roll back its hot
// journal or checkpoint its WAL into it.
const (
	headerSize         = 100
	offSchemaCookie    = 40
	offUserVersion     = 60
	offApplicationID   = 68
	walHeaderSize      = 32
	walFrameHeaderSize = 24
)

// header is the first 100 bytes of a database, as committed.
type header []byte

func (h header) field(off int) uint32 { return binary.BigEndian.Uint32(h[off:]) }

// blank reports whether the database never had a schema: an empty
// gatehouse file whose init did not commit.
func (h header) blank() bool {
	return h.field(offApplicationID) == 0 && h.field(offUserVersion) == 0 && h.field(offSchemaCookie) == 0
}

// committedHeader returns the header of the database at path as a reader
// would see it: the last committed copy of page 1 in its WAL when there is
// one, else the file's own first 100 bytes. The WAL matters because a
// database's application ID, schema and user version may so far have been
// written only there (gatehouse's own init, before the first checkpoint).
func committedHeader(path string, f io.ReaderAt) (header, error) {
	h := make(header, headerSize)
	if _, err := f.ReadAt(h, 0); err != nil {
		return nil, err
	}
	page1, err := walPage1(path + "-wal")
	if err != nil {
		return nil, err
	}
	if page1 != nil {
		return page1, nil
	}
	return h, nil
}

// walPage1 returns the first 100 bytes of the last committed copy of page 1
// in the WAL file at path, or nil when there is none: no file, a file that
// is not a WAL, or no valid committed frame for page 1. Frames are valid up
// to the first whose salt or cumulative checksum is wrong, and count only
// up to the last commit frame, exactly as SQLite recovers a WAL
// (https://sqlite.org/fileformat2.html#walformat).
func walPage1(path string) (header, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	hdr := make([]byte, walHeaderSize)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, nil
	}
	magic := binary.BigEndian.Uint32(hdr)
	if magic&^1 != 0x377f0682 {
		return nil, nil
	}
	var order binary.ByteOrder = binary.LittleEndian
	if magic&1 == 1 {
		order = binary.BigEndian
	}
	pageSize := binary.BigEndian.Uint32(hdr[8:])
	if pageSize == 1 {
		pageSize = 65536
	}
	if pageSize < 512 || pageSize > 65536 || pageSize&(pageSize-1) != 0 {
		return nil, nil
	}
	s0, s1 := walChecksum(order, hdr[:24], 0, 0)
	if s0 != binary.BigEndian.Uint32(hdr[24:]) || s1 != binary.BigEndian.Uint32(hdr[28:]) {
		return nil, nil
	}
	frame := make([]byte, walFrameHeaderSize+int(pageSize))
	var pending, committed header
	for {
		if _, err := io.ReadFull(r, frame); err != nil {
			break
		}
		if !bytes.Equal(frame[8:16], hdr[16:24]) {
			break
		}
		s0, s1 = walChecksum(order, frame[:8], s0, s1)
		s0, s1 = walChecksum(order, frame[walFrameHeaderSize:], s0, s1)
		if s0 != binary.BigEndian.Uint32(frame[16:]) || s1 != binary.BigEndian.Uint32(frame[20:]) {
			break
		}
		if binary.BigEndian.Uint32(frame) == 1 {
			pending = append(pending[:0], frame[walFrameHeaderSize:walFrameHeaderSize+headerSize]...)
		}
		if binary.BigEndian.Uint32(frame[4:]) != 0 && len(pending) > 0 { // a commit frame
			committed = append(committed[:0], pending...)
			pending = pending[:0]
		}
	}
	if len(committed) == 0 {
		return nil, nil
	}
	return committed, nil
}

// walChecksum continues the WAL's running checksum over b.
func walChecksum(order binary.ByteOrder, b []byte, s0, s1 uint32) (uint32, uint32) {
	for i := 0; i+8 <= len(b); i += 8 {
		s0 += order.Uint32(b[i:]) + s1
		s1 += order.Uint32(b[i+4:]) + s0
	}
	return s0, s1
}

// hotJournal reports whether a rollback journal with content lies beside
// the database at path: opening the database would roll it back.
func hotJournal(path string) bool {
	st, err := os.Stat(path + "-journal")
	return err == nil && st.Size() > 0
}
