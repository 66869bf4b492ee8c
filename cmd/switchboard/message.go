package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// parseMessage turns a MESSAGE argument, or one line of stdin, into the JSON
// value that is sent. Text that is a JSON value is sent as that value (with
// insignificant whitespace removed, so it prints on one line); any other text
// is sent as a JSON string holding the text. So `42`, `"hi"`, `null` and
// `{"a":1}` are sent as they are, and `hello world` is sent as
// `"hello world"`. Invalid UTF-8 in the text is first replaced by U+FFFD, as
// JSON text must be UTF-8.
func parseMessage(text string) json.RawMessage {
	text = strings.ToValidUTF8(text, "\uFFFD")
	b := []byte(text)
	if json.Valid(b) {
		var buf bytes.Buffer
		if err := json.Compact(&buf, b); err == nil {
			return buf.Bytes()
		}
	}
	return jsonString(text)
}

// jsonString returns s as a JSON string, without escaping <, > and & (which
// encoding/json would write as \u003c and so on) so output stays readable.
func jsonString(s string) json.RawMessage {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		// A valid UTF-8 string always encodes; keep the contract anyway.
		return json.RawMessage(`""`)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// displayMessage returns the JSON that the CLI prints for a received payload:
// the payload itself when it is JSON (compacted onto one line), else the bytes
// as a JSON string (payloads from clients that use another codec).
func displayMessage(payload []byte) json.RawMessage {
	if len(payload) > 0 && utf8.Valid(payload) && json.Valid(payload) {
		var buf bytes.Buffer
		if err := json.Compact(&buf, payload); err == nil {
			return buf.Bytes()
		}
	}
	if len(payload) == 0 {
		return json.RawMessage("null")
	}
	return jsonString(string(payload))
}

// messageLine is one line of `switchboard sub` output.
type messageLine struct {
	Topic   string          `json:"topic"`
	Message json.RawMessage `json:"message"`
}

// formatLine returns `{"topic":TOPIC,"message":MESSAGE}` and a newline, the
// line `switchboard sub` prints for each message.
func formatLine(topic string, payload []byte) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(messageLine{Topic: strings.ToValidUTF8(topic, "\uFFFD"), Message: displayMessage(payload)}); err != nil {
		// displayMessage always returns valid JSON; keep the contract anyway.
		buf.Reset()
		buf.WriteString(`{"topic":` + string(jsonString(topic)) + `,"message":null}` + "\n")
	}
	return buf.Bytes()
}
