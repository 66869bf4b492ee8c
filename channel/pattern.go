package channel

import (
	"fmt"
	"strings"
)

// validPattern checks a subscription pattern: dot-separated non-empty
// tokens, where "*" matches one token and ">" (last token only) matches one or
// more.
func validPattern(p string) error {
	if p == "" {
		return fmt.Errorf("%w: empty", ErrBadPattern)
	}
	toks := strings.Split(p, ".")
	for i, t := range toks {
		switch {
		case t == "":
			return fmt.Errorf("%w %q: empty token", ErrBadPattern, p)
		case t == ">" && i != len(toks)-1:
			return fmt.Errorf("%w %q: '>' must be the last token", ErrBadPattern, p)
		case len(t) > 1 && strings.ContainsAny(t, "*>"):
			return fmt.Errorf("%w %q: wildcard inside token %q", ErrBadPattern, p, t)
		}
	}
	return nil
}

// validTopic checks a topic members may publish on: a valid pattern without
// wildcards, outside the reserved "$" namespace.
func validTopic(t string) error {
	if err := validPattern(t); err != nil {
		return fmt.Errorf("%w %q", ErrBadTopic, t)
	}
	if strings.ContainsAny(t, "*>") || t[0] == '$' {
		return fmt.Errorf("%w %q: wildcard or reserved '$' prefix", ErrBadTopic, t)
	}
	return nil
}

// match reports whether topic matches pattern.
func match(pattern, topic string) bool {
	for {
		pt, prest, pmore := strings.Cut(pattern, ".")
		tt, trest, tmore := strings.Cut(topic, ".")
		switch {
		case pt == ">":
			return tt != ""
		case pt != "*" && pt != tt:
			return false
		}
		if !pmore || !tmore {
			return pmore == tmore
		}
		pattern, topic = prest, trest
	}
}

// ValidateTopic reports whether members may publish on topic: dot-separated
// non-empty tokens, no wildcards, not in the reserved "$" namespace. The
// error wraps ErrBadTopic.
func ValidateTopic(topic string) error { return validTopic(topic) }
