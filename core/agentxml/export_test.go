package agentxml

// Request is the parsed request, for tests in package agentxml_test.
type Request = request

// ParseRequest exposes the request parser to the fuzz target.
var ParseRequest = parseRequest

// TLSConfigFor exposes the server's TLS setup so the baseline benchmark
// uses the same one.
var TLSConfigFor = tlsConfig

// RenderSAS renders a reply for req the way the server does.
func RenderSAS(req *Request, pass bool, errCode string) []byte {
	b := getBuffer()
	defer putBuffer(b)
	rep := reply{pass: pass, errCode: errCode}
	appendSAS(b, req, &rep)
	return append([]byte(nil), b.b...)
}
