package agentxml_test

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"unicode/utf8"

	"provisio/core/agentxml"
)

// FuzzParseRequest feeds the request parser arbitrary bytes. It must never
// panic, and whatever it accepts must render into a reply that parses as
// XML and echoes the RequestID faithfully.
func FuzzParseRequest(f *testing.F) {
	for _, tc := range envelopeCases {
		f.Add([]byte(tc.body))
	}
	f.Add([]byte(`<SASRequest><RequestID>` + strings.Repeat("é", 200) + `</RequestID></SASRequest>`))
	f.Add([]byte("<SASRequest><RequestID>a\r\nb&#x1;</RequestID></SASRequest>"))
	f.Add([]byte(`<SASRequest><Version>3.6</Version><Username>a<x>b</x>c</Username></SASRequest>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := agentxml.ParseRequest(data)
		if err != nil {
			return
		}
		if err := stdWellFormed(data); err != nil {
			t.Fatalf("accepted what encoding/xml's Token rejects (%v): %q", err, data)
		}
		for _, pass := range []bool{true, false} {
			out := agentxml.RenderSAS(&req, pass, "AGENT_ERROR_GENERAL")
			var got struct {
				XMLName   xml.Name `xml:"SASResponse"`
				Version   string   `xml:"Version"`
				RequestID string   `xml:"RequestID"`
				Result    string   `xml:"Result"`
			}
			if err := xml.NewDecoder(bytes.NewReader(out)).Decode(&got); err != nil {
				t.Fatalf("reply does not parse: %v\nrequest %q\nreply %q", err, data, out)
			}
			if !utf8.Valid(out) {
				t.Fatalf("reply is not UTF-8: %q", out)
			}
			if len(got.RequestID) > 256+3*8 { // U+FFFD replacements may grow it a little
				t.Fatalf("RequestID echo is %d bytes", len(got.RequestID))
			}
			if clean(req.RequestID) && !strings.HasPrefix(req.RequestID, got.RequestID) {
				t.Fatalf("RequestID %q echoed as %q", req.RequestID, got.RequestID)
			}
		}
	})
}

// clean reports whether s holds only characters XML 1.0 can carry, so its
// echo must come back unchanged.
func clean(s string) bool {
	for _, r := range s {
		switch {
		case r == utf8.RuneError, r < 0x20 && r != '\t' && r != '\n' && r != '\r',
			r == 0x7f, r >= 0x80 && r <= 0x9f, r == 0xFFFE, r == 0xFFFF:
			return false
		}
	}
	return utf8.ValidString(s)
}

// stdWellFormed checks with encoding/xml's Token, which matches tags
// itself, that data is well formed up to the end of its root element.
// Documents declaring a charset are not compared: the server transcodes
// them first.
func stdWellFormed(data []byte) error {
	if bytes.Contains(data, []byte("encoding")) {
		return nil
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	depth := 0
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			if depth--; depth == 0 {
				return nil
			}
		}
	}
}

// FuzzParseAdminRequest feeds the AdminXML parser arbitrary bytes,
// seeded with the envelope cases and every request of docs/api.md. It
// must never panic; whatever it accepts must be well formed, have one of
// the two roots, and render into a reply that parses, is UTF-8, has an
// element per operation and echoes the RequestID faithfully.
func FuzzParseAdminRequest(f *testing.F) {
	for _, tc := range adminEnvelopeCases {
		f.Add([]byte(tc.body))
	}
	_, sections := readDoc(f)
	for _, exs := range sections {
		for _, ex := range exs {
			f.Add([]byte(ex.request))
		}
	}
	f.Add([]byte(`<AdminRequest requestid="` + strings.Repeat("é", 200) + `"><Create><User name="a&#x1;b"><Attributes><Attribute name="x">` + "\xff" + `</Attribute></Attributes></User></Create></AdminRequest>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := agentxml.ParseAdminRequest(data)
		if err != nil {
			return
		}
		if err := stdWellFormed(data); err != nil {
			t.Fatalf("accepted what encoding/xml's Token rejects (%v): %q", err, data)
		}
		out := agentxml.RenderAdmin(&req)
		var got struct {
			XMLName   xml.Name
			Version   string     `xml:"Version"`
			RequestID string     `xml:"RequestID"`
			Result    string     `xml:"Result"`
			Error     string     `xml:"Error"`
			Message   string     `xml:"Message"`
			Ops       []struct{} `xml:",any"`
		}
		if err := xml.NewDecoder(bytes.NewReader(out)).Decode(&got); err != nil {
			t.Fatalf("reply does not parse: %v\nrequest %q\nreply %q", err, data, out)
		}
		if !utf8.Valid(out) {
			t.Fatalf("reply is not UTF-8: %q", out)
		}
		if root := got.XMLName.Local; root != "AdminResponse" && root != "HelpdeskResponse" {
			t.Fatalf("reply root %q", root)
		}
		if len(got.Ops) != len(agentxml.AdminOps(&req)) {
			t.Fatalf("%d operations answered, %d asked\nrequest %q\nreply %q", len(got.Ops), len(agentxml.AdminOps(&req)), data, out)
		}
		if len(got.RequestID) > 256+3*8 {
			t.Fatalf("RequestID echo is %d bytes", len(got.RequestID))
		}
		if id := agentxml.AdminRequestID(&req); clean(id) && !strings.HasPrefix(id, got.RequestID) {
			t.Fatalf("RequestID %q echoed as %q", id, got.RequestID)
		}
	})
}
