package ipc

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// ErrBadPattern: a subscription pattern with an empty token, or with "*" or
// ">" inside a token, or ">" before the last token.
var ErrBadPattern = errors.New("ipc: bad pattern")

// ValidPattern reports whether p is a valid subscription pattern: tokens
// separated by ".", none empty; a token "*" matches exactly one token of a
// topic, a last token ">" matches one or more trailing tokens. A pattern
// without wildcards matches exactly the topic it spells.
func ValidPattern(p string) bool {
	if p == "" {
		return false
	}
	for i := 0; ; {
		j := strings.IndexByte(p[i:], '.')
		last := j < 0
		if last {
			j = len(p) - i
		}
		tok := p[i : i+j]
		switch {
		case tok == "":
			return false
		case tok == ">":
			if !last {
				return false
			}
		case tok == "*":
		case strings.ContainsAny(tok, "*>"):
			return false
		}
		if last {
			return true
		}
		i += j + 1
	}
}

// MatchPattern reports whether topic matches the pattern p (see ValidPattern).
func MatchPattern(p, topic string) bool {
	for {
		pi := strings.IndexByte(p, '.')
		ptok := p
		if pi >= 0 {
			ptok = p[:pi]
		}
		if ptok == ">" {
			return true // a topic always has at least one token left here
		}
		ti := strings.IndexByte(topic, '.')
		ttok := topic
		if ti >= 0 {
			ttok = topic[:ti]
		}
		if ptok != "*" && ptok != ttok {
			return false
		}
		if pi < 0 || ti < 0 {
			return pi < 0 && ti < 0
		}
		p, topic = p[pi+1:], topic[ti+1:]
	}
}

// maxCached bounds the per-index cache of routing results by literal topic.
const maxCached = 1 << 16

// index routes topics to the owners of matching patterns without scanning
// every pattern: a token trie, walked once per topic, with the result cached
// by topic until the next change. Owners are deduplicated: an owner with
// several matching patterns appears once.
type index[T comparable] struct {
	mu   sync.RWMutex
	root tnode[T]
	gen  uint64        // bumped on every change; mu held for writing
	ver  atomic.Uint64 // gen, readable without mu

	cacheMu  sync.Mutex
	cache    map[string][]T
	cacheGen uint64

	less func(a, b T) bool // optional order of results
}

type tnode[T comparable] struct {
	lit  map[string]*tnode[T]
	star *tnode[T]
	subs []ientry[T] // patterns that end at this node
	full []ientry[T] // patterns that end with ">" after this node
}

type ientry[T comparable] struct {
	owner T
	id    uint64
}

// add inserts pattern for (owner, id). It does not check the pattern.
func (x *index[T]) add(pattern string, owner T, id uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := &x.root
	for tok := range strings.SplitSeq(pattern, ".") {
		switch tok {
		case ">":
			n.full = append(n.full, ientry[T]{owner, id})
			x.changedLocked()
			return
		case "*":
			if n.star == nil {
				n.star = &tnode[T]{}
			}
			n = n.star
		default:
			if n.lit == nil {
				n.lit = make(map[string]*tnode[T])
			}
			c := n.lit[tok]
			if c == nil {
				c = &tnode[T]{}
				n.lit[tok] = c
			}
			n = c
		}
	}
	n.subs = append(n.subs, ientry[T]{owner, id})
	x.changedLocked()
}

// remove deletes pattern for (owner, id); it reports whether it was there.
// Emptied trie nodes are left in place (they cost a little memory and are
// reused by the next subscription to the same pattern).
func (x *index[T]) remove(pattern string, owner T, id uint64) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := &x.root
	del := func(s []ientry[T]) ([]ientry[T], bool) {
		i := slices.Index(s, ientry[T]{owner, id})
		if i < 0 {
			return s, false
		}
		return slices.Delete(s, i, i+1), true
	}
	var ok bool
	for tok := range strings.SplitSeq(pattern, ".") {
		switch tok {
		case ">":
			n.full, ok = del(n.full)
			if ok {
				x.changedLocked()
			}
			return ok
		case "*":
			n = n.star
		default:
			n = n.lit[tok]
		}
		if n == nil {
			return false
		}
	}
	n.subs, ok = del(n.subs)
	if ok {
		x.changedLocked()
	}
	return ok
}

// x.mu must be held for writing.
func (x *index[T]) changedLocked() {
	x.gen++
	x.ver.Store(x.gen)
	x.cacheMu.Lock()
	x.cache = nil
	x.cacheGen = x.gen
	x.cacheMu.Unlock()
}

// match returns the owners of the patterns matching topic. The result is
// shared: callers must not modify it.
func (x *index[T]) match(topic string) []T {
	x.cacheMu.Lock()
	if r, ok := x.cache[topic]; ok {
		x.cacheMu.Unlock()
		return r
	}
	x.cacheMu.Unlock()

	x.mu.RLock()
	gen := x.gen
	var out []T
	var seen map[T]struct{}
	add := func(es []ientry[T]) {
		for _, e := range es {
			if seen == nil && len(out) >= 16 {
				seen = make(map[T]struct{}, 2*len(out))
				for _, o := range out {
					seen[o] = struct{}{}
				}
			}
			if seen != nil {
				if _, dup := seen[e.owner]; dup {
					continue
				}
				seen[e.owner] = struct{}{}
			} else if slices.Contains(out, e.owner) {
				continue
			}
			out = append(out, e.owner)
		}
	}
	var walk func(n *tnode[T], rest string)
	walk = func(n *tnode[T], rest string) {
		add(n.full)
		i := strings.IndexByte(rest, '.')
		tok, next, last := rest, "", true
		if i >= 0 {
			tok, next, last = rest[:i], rest[i+1:], false
		}
		if c := n.lit[tok]; c != nil {
			if last {
				add(c.subs)
			} else {
				walk(c, next)
			}
		}
		if c := n.star; c != nil {
			if last {
				add(c.subs)
			} else {
				walk(c, next)
			}
		}
	}
	walk(&x.root, topic)
	x.mu.RUnlock()
	if x.less != nil {
		slices.SortFunc(out, func(a, b T) int {
			if x.less(a, b) {
				return -1
			}
			if x.less(b, a) {
				return 1
			}
			return 0
		})
	}

	x.cacheMu.Lock()
	if x.cacheGen == gen {
		if x.cache == nil || len(x.cache) >= maxCached {
			x.cache = make(map[string][]T)
		}
		x.cache[topic] = out
	}
	x.cacheMu.Unlock()
	return out
}

// routeCache remembers the last routing result of one reader, so a stream on
// one topic is routed without touching the shared cache.
type routeCache[T comparable] struct {
	topic string
	ver   uint64
	rs    []T
	valid bool
}

// matchCached is match through a reader's own cache.
func (x *index[T]) matchCached(c *routeCache[T], topic string) []T {
	v := x.ver.Load()
	if c.valid && c.ver == v && c.topic == topic {
		return c.rs
	}
	rs := x.match(topic)
	c.topic, c.ver, c.rs, c.valid = topic, v, rs, true
	return rs
}
