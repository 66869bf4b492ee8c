// Package wire reads and writes the two wire formats of switchboard, which
// share one socket; docs/protocol.md is their normative specification.
//
// The socket-ipc format, compatible with @crussell52/socket-ipc 0.4, is a
// stream of UTF-8 JSON objects {"topic":"t","message":<any JSON>}, each
// followed by two NUL bytes (Delimiter). AppendJSONFrame writes one;
// JSONReader reads them.
//
// The native format starts with an 8-byte Preface from each side and goes on
// with length-prefixed binary frames (Frame): AppendFrame writes one, Reader
// reads them. Detect tells the two apart from a client's first byte without
// consuming it.
//
// Invariants:
//   - Every decoder is bounded: a frame or message over the reader's limit
//     is rejected before it is buffered, so a peer cannot make a reader
//     allocate more than about the limit.
//   - Bad bytes never panic: they give a *DecodeError that wraps one of the
//     Err* sentinels; the reader then stays failed, and the connection should
//     be closed.
//   - The hot paths do not allocate: AppendFrame and AppendJSONFrame into a
//     buffer with room, Reader.ReadFrame and JSONReader.ReadMessage (for
//     messages of the common shape on a repeated topic) once the reader's
//     buffer has grown to what the stream needs.
//   - A reader's buffer follows its connection: 4 KiB from the first read,
//     doubled while reads fill it up to DefaultBufferSize (64 KiB), grown
//     for a larger frame and kept while such frames keep coming. A reader
//     whose source is a LazyReader (a server's connection) gives a buffer
//     of up to DefaultBufferSize back to a shared pool while it waits with
//     nothing unread, and takes one of the same size when bytes arrive: an
//     idle connection holds no buffer.
//   - Decoded slices point into the reader's buffer and are valid until the
//     next read call; after it, the memory may be another reader's.
//
// Usage, native:
//
//	buf := wire.AppendFrame(nil, &wire.Frame{Type: wire.TypeMsg, Seq: 1, Topic: []byte("orders.new"), Payload: p})
//	conn.Write(buf)
//
//	r := wire.NewReader(conn, 0) // after wire.ReadPreface(conn) on a server
//	var f wire.Frame
//	for {
//		if err := r.ReadFrame(&f); err != nil {
//			return err // io.EOF: the peer closed between frames
//		}
//		handle(&f) // f.Topic and f.Payload are valid until the next ReadFrame
//	}
package wire
