package wire

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Delimiter ends every socket-ipc message. JSON text never contains a NUL
// byte (it must be escaped inside strings), so it cannot occur inside one.
const Delimiter = "\x00\x00"

// null is the message of a socket-ipc message without one.
var null = []byte("null")[:4:4]

const hexDigits = "0123456789abcdef"

// AppendJSONFrame appends the socket-ipc encoding of a message to dst:
// {"topic":<topic as a JSON string>,"message":<message>} and the Delimiter.
// message must be one valid JSON value (it is copied as it is, not checked);
// an empty message is written as null. The topic is escaped the way
// JavaScript's JSON.stringify does it; invalid UTF-8 in it becomes U+FFFD.
// AppendJSONFrame allocates only when dst lacks capacity.
func AppendJSONFrame(dst []byte, topic string, message []byte) []byte {
	if len(message) == 0 {
		message = null
	}
	dst = slices.Grow(dst, len(`{"topic":"","message":}`)+len(topic)+len(message)+len(Delimiter))
	dst = append(dst, `{"topic":`...)
	dst = appendJSONString(dst, topic)
	dst = append(dst, `,"message":`...)
	dst = append(dst, message...)
	dst = append(dst, '}')
	return append(dst, Delimiter...)
}

// appendJSONString appends s as a JSON string literal.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// JSONReader reads socket-ipc messages: JSON objects
// {"topic":"...","message":...} each followed by the Delimiter. It reads as
// much as the underlying reader offers into its own buffer and finds
// messages in place.
//
// A JSONReader is not safe for concurrent use. After ReadMessage returns an
// error other than io.EOF the JSONReader is unusable: every later call
// returns the same error.
type JSONReader struct {
	inbuf
	scan  int // buf[r:r+scan] holds no delimiter start
	max   int
	fatal error // sticky decode error
	topic string
}

// NewJSONReader returns a JSONReader from r whose messages may be at most
// maxFrame bytes long without the delimiter (<= 0 means DefaultMaxFrame).
func NewJSONReader(r io.Reader, maxFrame int) *JSONReader {
	m := normMax(maxFrame)
	return &JSONReader{inbuf: newInbuf(r, min(initialBufferSize, m+len(Delimiter))), max: m}
}

// MaxFrame returns the reader's limit on a message's length.
func (r *JSONReader) MaxFrame() int { return r.max }

// Buffered returns the number of bytes read from the underlying reader but
// not yet decoded.
func (r *JSONReader) Buffered() int { return r.w - r.r }

// ReadMessage reads the next message and returns its topic and its message
// as raw JSON: null when the message has none. message points into the
// reader's buffer and is valid only until the next call; do not modify it.
//
// The topic must be a JSON string: socket-ipc itself passes on whatever
// JSON.parse produced, so a message without a topic reaches its "message"
// handlers with topic undefined; switchboard rejects it instead, since
// every message it routes needs a topic.
//
// At the end of the stream between messages (or after only JSON whitespace)
// ReadMessage returns io.EOF. Bytes that do not decode give a *DecodeError:
// ErrTruncated (also matching io.ErrUnexpectedEOF) when the stream ends
// inside a message, ErrFrameTooLarge when more than the limit arrives
// without a delimiter (detected before more is buffered), ErrInvalidUTF8,
// ErrInvalidJSON when the message is not one JSON object, ErrBadTopic when
// its "topic" is missing or not a string. Errors of the underlying reader
// are returned as they are.
func (r *JSONReader) ReadMessage() (topic string, message []byte, err error) {
	if r.fatal != nil {
		return "", nil, r.fatal
	}
	if r.seen >= shrinkWindow {
		if size := r.shrinkSize(len(r.buf)); size < len(r.buf) && r.w-r.r <= size {
			r.buf, r.w = moveTo(r.buf, r.r, r.w, size)
			r.r = 0
		}
		r.seen, r.peak = 0, 0
	}
	for empty := 0; ; {
		if i := bytes.Index(r.buf[r.r+r.scan:r.w], []byte(Delimiter)); i >= 0 {
			n := r.scan + i
			if n > r.max {
				return "", nil, r.fail(tooLarge(SocketIPC, uint64(n), uint64(r.max)))
			}
			msg := r.buf[r.r : r.r+n : r.r+n]
			r.r += n + len(Delimiter)
			r.scan = 0
			r.note(n + len(Delimiter))
			topic, message, err := r.parse(msg)
			if err != nil {
				return "", nil, r.fail(err)
			}
			return topic, message, nil
		}
		avail := r.w - r.r
		if avail >= r.max+len(Delimiter) {
			return "", nil, r.fail(decodeErr(SocketIPC, ErrFrameTooLarge,
				"no delimiter in "+strconv.Itoa(avail)+" bytes, limit "+strconv.Itoa(r.max)))
		}
		r.scan = max(0, avail-1)
		if r.err != nil {
			err := r.err
			if err == io.EOF {
				if len(bytes.TrimLeft(r.buf[r.r:r.w], " \t\r\n")) == 0 {
					r.r = r.w
					return "", nil, io.EOF
				}
				return "", nil, r.fail(decodeErr(SocketIPC, errTruncatedEOF,
					strconv.Itoa(avail)+" bytes without delimiter"))
			}
			r.err = nil
			return "", nil, err
		}
		// Grow when the buffer holds only part of a message or reads fill
		// it, never beyond what the limit allows (avail is below it here).
		r.needBuf(avail + 1)
		if r.buf == nil {
			// Nothing is buffered: the LazyReader lends a buffer once
			// bytes arrive.
		} else if size := r.growSize(len(r.buf), avail+1, r.max+len(Delimiter)); size != len(r.buf) {
			r.buf, r.w = moveTo(r.buf, r.r, r.w, size)
			r.r = 0
		} else if r.w == len(r.buf) {
			r.w = copy(r.buf, r.buf[r.r:r.w])
			r.r = 0
		}
		r.read(&empty)
	}
}

func (r *JSONReader) fail(err error) error {
	if _, ok := err.(*DecodeError); ok {
		r.fatal = err
	}
	return err
}

// parse decodes one message without its delimiter.
func (r *JSONReader) parse(msg []byte) (string, []byte, error) {
	if !utf8.Valid(msg) {
		return "", nil, decodeErr(SocketIPC, ErrInvalidUTF8, "in message")
	}
	if t, m, ok := parseFast(msg); ok {
		return r.intern(t), m, nil
	}
	return r.parseSlow(msg)
}

// intern returns t as a string, reusing the previous topic's string when it
// is the same, so that a stream on one topic does not allocate.
func (r *JSONReader) intern(t []byte) string {
	if string(t) != r.topic {
		r.topic = string(t)
	}
	return r.topic
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// parseFast decodes the shape JSON.stringify produces,
// {"topic":"<no escapes>","message":<value>} or {"topic":"<no escapes>"},
// without allocating. ok is false for anything else, which parseSlow then
// decodes.
func parseFast(msg []byte) (topic, message []byte, ok bool) {
	const pre = `{"topic":"`
	b := trimSpace(msg)
	if len(b) < len(pre)+2 || string(b[:len(pre)]) != pre || b[len(b)-1] != '}' {
		return nil, nil, false
	}
	b = b[len(pre) : len(b)-1]
	i := 0
	for ; i < len(b); i++ {
		c := b[i]
		if c == '"' {
			break
		}
		if c == '\\' || c < 0x20 {
			return nil, nil, false
		}
	}
	if i == len(b) {
		return nil, nil, false
	}
	topic, b = b[:i:i], b[i+1:]
	if len(b) == 0 {
		return topic, null, true
	}
	const mid = `,"message":`
	if len(b) < len(mid) || string(b[:len(mid)]) != mid {
		return nil, nil, false
	}
	message = trimSpace(b[len(mid):])
	if len(message) == 0 || !validJSON(message) {
		return nil, nil, false
	}
	return topic, message[:len(message):len(message)], true
}

// parseSlow decodes any JSON object with encoding/json. Keys match exactly;
// of duplicate keys the last wins, as with JSON.parse.
func (r *JSONReader) parseSlow(msg []byte) (string, []byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(msg, &m); err != nil || m == nil {
		reason := "not a JSON object"
		if err != nil {
			reason = err.Error()
		}
		return "", nil, decodeErr(SocketIPC, ErrInvalidJSON, reason)
	}
	t, ok := m["topic"]
	if !ok {
		return "", nil, decodeErr(SocketIPC, ErrBadTopic, "no topic")
	}
	var topic string
	if len(t) == 0 || t[0] != '"' || json.Unmarshal(t, &topic) != nil {
		return "", nil, decodeErr(SocketIPC, ErrBadTopic, "topic is "+clip(t))
	}
	message, ok := m["message"]
	if !ok {
		message = null
	}
	return topic, message, nil
}

// clip returns b as a string for an error message, cut to 40 bytes.
func clip(b []byte) string {
	if len(b) > 40 {
		return strconv.Quote(string(b[:40])) + "..."
	}
	return strconv.Quote(string(b))
}
