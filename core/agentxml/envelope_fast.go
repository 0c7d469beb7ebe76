package agentxml

// The fast path of parseRequest. Nearly every request an agent or phone
// sends is the simplest form of an SASRequest: an optional UTF-8 prolog,
// <SASRequest>, then <Name>text</Name> children of plain ASCII text.
// encoding/xml's decoder cost about two thirds of the protocol layer's CPU
// on a ping (docs/benchmarks.md, 2026-11-30), so such bodies are read by
// this small scanner instead. It either returns exactly what the full
// parser would (FuzzParseRequest_FastMatchesFull checks that on arbitrary
// input) or declines, and the full parser reads the body as before: it
// declines on anything it does not handle itself, such as attributes,
// namespaces, entities, CDATA, comments, nested elements, non-ASCII text
// and every other prolog.

import "strings"

// simplePrologs are the prologs the fast path accepts, byte for byte.
var simplePrologs = []string{
	`<?xml version="1.0" ?>`,
	`<?xml version="1.0"?>`,
	`<?xml version="1.0" encoding="UTF-8"?>`,
	`<?xml version="1.0" encoding="utf-8"?>`,
	`<?xml version="1.0" encoding="UTF-8" ?>`,
}

// parseSimple reads data when it is a simple SASRequest; ok is false when
// the full parser must decide, whether the body is well formed or not.
func parseSimple(data []byte) (req request, ok bool) {
	i := 0
	for _, p := range simplePrologs {
		if len(data) >= len(p) && string(data[:len(p)]) == p {
			i = len(p)
			break
		}
	}
	i = skipXMLSpace(data, i)

	// <SASRequest>, in any case, no attributes.
	root, i, ok := startTag(data, i)
	if !ok || !strings.EqualFold(string(root), "SASRequest") {
		return request{}, false
	}
	for {
		i = skipXMLSpace(data, i)
		if i+1 < len(data) && data[i] == '<' && data[i+1] == '/' {
			// The root's end tag: what follows it is ignored, as the full
			// parser does.
			if _, ok := endTag(data, i, root); !ok {
				return request{}, false
			}
			return req, true
		}
		var name []byte
		name, i, ok = startTag(data, i)
		if !ok {
			return request{}, false
		}
		start := i
		for i < len(data) && data[i] != '<' {
			c := data[i]
			// Printable ASCII, tab and LF only: a CR is normalised by the
			// full parser, '&' starts an entity, "]]>" is an error there.
			if (c < 0x20 && c != '\t' && c != '\n') || c > 0x7e || c == '&' ||
				(c == '>' && i >= start+2 && data[i-1] == ']' && data[i-2] == ']') {
				return request{}, false
			}
			i++
		}
		text := data[start:i]
		if i, ok = endTag(data, i, name); !ok {
			return request{}, false
		}
		if f := req.field(string(name)); f != nil {
			*f = strings.TrimSpace(string(text))
		}
	}
}

// startTag reads "<name>" at i with a plain ASCII name and returns the name
// and the index after '>'.
func startTag(data []byte, i int) (name []byte, next int, ok bool) {
	if i >= len(data) || data[i] != '<' {
		return nil, i, false
	}
	n := nameLen(data[i+1:])
	j := i + 1 + n
	if n == 0 || j >= len(data) || data[j] != '>' {
		return nil, i, false
	}
	return data[i+1 : j], j + 1, true
}

// endTag reads "</name>" at i for exactly the given name and returns the
// index after '>'.
func endTag(data []byte, i int, name []byte) (int, bool) {
	j := i + 2 + len(name)
	if j >= len(data) || data[i] != '<' || data[i+1] != '/' ||
		string(data[i+2:j]) != string(name) || data[j] != '>' {
		return i, false
	}
	return j + 1, true
}

// nameLen is the length of the XML name at the start of b, limited to
// ASCII letters, digits, '_', '.' and '-' (no namespace prefix), or 0.
func nameLen(b []byte) int {
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_':
		case ('0' <= c && c <= '9') || c == '.' || c == '-':
			if i == 0 {
				return 0
			}
		default:
			return i
		}
	}
	return len(b)
}

func skipXMLSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}
