package agentxml

// Reading a request's XML: where it travels (body, form field, URL) and
// how its bytes become UTF-8 (byte-order marks, UTF-16, a Latin-1
// Content-Type), for AgentXML and AdminXML alike. encoding/xml then reads
// the XML's own declaration (charsetReader, envelope.go).

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// xmlInURL reports whether r carries its XML in the URL: a GET, or a
// POST without a body whose query has xml=, as the Agent-XML seed's
// example ("HTTP POST ... /pinsafe/AgentXML?xml=<?xml ...") reads.
func xmlInURL(r *http.Request) bool {
	return r.Method == http.MethodGet || r.ContentLength == 0 && r.URL.Query().Has("xml")
}

// refuseXMLInURL refuses a request that carries its XML in the URL while
// agentxml.allow_get is off, counting it, and returns the status and
// Message of the FAIL to send; refused is false when the request may go
// on. A GET gets 405 with Allow: POST; a POST, whose method is right,
// 400. Either was answered "malformed" before, or 405 for a GET.
func (s *Server) refuseXMLInURL(w http.ResponseWriter, r *http.Request) (status int, message string, refused bool) {
	if !xmlInURL(r) || s.svc.Settings().AllowGet {
		return 0, "", false
	}
	if r.Method == http.MethodGet {
		s.refuse(r, refusedGet)
		w.Header().Set("Allow", "POST")
		return http.StatusMethodNotAllowed, getRefused, true
	}
	s.refuse(r, refusedPostURL)
	return http.StatusBadRequest, postURLRefused, true
}

// readXML returns the request XML: the POST body, the xml= field of a
// form-encoded body, or the xml= query parameter of a GET or of a POST
// without a body. The status is 200, or 413 / 400 when there is no usable
// XML.
func readXML(w http.ResponseWriter, r *http.Request, buf *buffer) ([]byte, int) {
	if xmlInURL(r) {
		x := r.URL.Query().Get("xml")
		if len(x) > maxBody {
			return nil, http.StatusRequestEntityTooLarge
		}
		return xmlText([]byte(x)), http.StatusOK
	}
	if r.ContentLength > maxBody {
		return nil, http.StatusRequestEntityTooLarge
	}
	// With a Content-Length net/http already ends the body there, so only a
	// chunked body needs MaxBytesReader (one allocation per request).
	rd := r.Body
	if r.ContentLength < 0 {
		rd = http.MaxBytesReader(w, r.Body, maxBody)
	}
	err := buf.readFrom(rd)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, http.StatusRequestEntityTooLarge
	} else if err != nil {
		return nil, http.StatusBadRequest
	}
	marked := hasBOM(buf.b)
	body := xmlText(buf.b)
	// Some agents post an HTML form (xml=%3CSASRequest...&submit=Send),
	// with the xml field anywhere. XML itself always starts with '<', and
	// curl -d posts raw XML under a form Content-Type, so the body
	// decides, not the header. A body that is neither stays as it is and
	// is malformed.
	if len(body) > 0 && body[0] != '<' {
		if q, _ := url.ParseQuery(string(body)); q.Has("xml") {
			return xmlText([]byte(q.Get("xml"))), http.StatusOK
		}
	}
	// A byte-order mark or the body's own declaration decides its
	// encoding; without either, the Content-Type's charset does (RFC 7303
	// 3.2 and 3.3), as a PHP or Java agent posting "text/xml;
	// charset=ISO-8859-1" expects.
	if !marked && latin1Charset(r.Header["Content-Type"]) && !declaresEncoding(body) {
		return latin1ToUTF8(body), http.StatusOK
	}
	return body, http.StatusOK
}

// utf8BOM is the byte-order mark .NET's XmlWriter, PowerShell and Windows
// Notepad write before UTF-8 XML. XML 1.0 (4.3.3) allows it; encoding/xml
// takes it for text before the root.
var utf8BOM = []byte("\xef\xbb\xbf")

// hasBOM reports whether b starts with a UTF-8 or UTF-16 byte-order
// mark, which xmlText reads.
func hasBOM(b []byte) bool {
	return isUTF16(b) || bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), utf8BOM)
}

// isUTF16 reports whether b starts with a UTF-16 byte-order mark.
func isUTF16(b []byte) bool {
	return len(b) >= 2 && (b[0] == 0xff && b[1] == 0xfe || b[0] == 0xfe && b[1] == 0xff)
}

// xmlText is a request's XML as UTF-8, without a leading byte-order mark
// and surrounding whitespace. UTF-16 is recognised by its byte-order mark
// (XML 1.0 4.3.3 requires one), which .NET's Encoding.Unicode writes.
func xmlText(b []byte) []byte {
	if isUTF16(b) {
		b = utf16ToUTF8(b[2:], b[0] == 0xfe)
	}
	return bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimLeft(b, " \t\r\n"), utf8BOM))
}

// utf16ToUTF8 decodes UTF-16 text. An odd last byte or an unpaired
// surrogate becomes U+FFFD, which the XML parser then refuses in names
// and the reply escapes in text.
func utf16ToUTF8(b []byte, bigEndian bool) []byte {
	units := make([]uint16, len(b)/2)
	for i := range units {
		if bigEndian {
			units[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			units[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
		}
	}
	out := make([]byte, 0, len(b))
	for _, r := range utf16.Decode(units) {
		out = utf8.AppendRune(out, r)
	}
	if len(b)%2 != 0 {
		out = utf8.AppendRune(out, utf8.RuneError)
	}
	return out
}

// declaresEncoding reports whether body starts with an XML declaration
// naming its encoding, which encoding/xml then honours (charsetReader).
func declaresEncoding(body []byte) bool {
	if !bytes.HasPrefix(body, []byte("<?xml")) {
		return false
	}
	end := bytes.Index(body, []byte("?>"))
	return end > 0 && bytes.Contains(body[:end], []byte("encoding"))
}

// latin1Charset reports whether a Content-Type header names one of the
// single-byte charsets charsetReader reads. Nearly every request says
// UTF-8 or nothing, and returns before any parsing.
func latin1Charset(ct []string) bool {
	if len(ct) == 0 {
		return false
	}
	v := ct[0]
	i := strings.Index(strings.ToLower(v), "charset=")
	if i < 0 {
		return false
	}
	label := v[i+len("charset="):]
	if j := strings.IndexByte(label, ';'); j >= 0 {
		label = label[:j]
	}
	return latin1Label(strings.Trim(strings.TrimSpace(label), `"`))
}
