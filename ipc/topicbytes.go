package ipc

import "unsafe"

// topicBytes returns the bytes of topic without copying them, for a
// wire.Frame that is only read (validated, appended to a queue): a
// conversion would copy the topic on every message, and allocate for one
// longer than 32 bytes. The bytes must not be modified.
func topicBytes(topic string) []byte {
	return unsafe.Slice(unsafe.StringData(topic), len(topic))
}
