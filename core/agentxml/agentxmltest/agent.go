package agentxmltest

import "net/http"

// AgentClient talks to the server like an authentication agent (a VPN
// concentrator or web app) with a shared secret.
type AgentClient struct {
	// BaseURL is the server's https://host:port.
	BaseURL string
	// Secret is the agent's shared secret.
	Secret string
	// Version is sent in every request; NewAgentClient sets 3.6.
	Version string
	// Path is the AgentXML path Login uses; NewAgentClient sets
	// /pinsafe/AgentXML.
	Path string
	// HTTP is the pinned client; tests may use it for raw requests.
	HTTP *http.Client
}

// NewAgentClient returns an agent client for the server at baseURL whose
// certificate has the given fingerprint.
func NewAgentClient(baseURL, fingerprint, secret string) (*AgentClient, error) {
	hc, err := PinnedClient(fingerprint)
	if err != nil {
		return nil, err
	}
	return &AgentClient{BaseURL: baseURL, Secret: secret, Version: "3.6", Path: "/pinsafe/AgentXML", HTTP: hc}, nil
}

// Login sends a login action and returns the Result and Error elements.
// err is for transport or parse failures only; a FAIL is not an error.
func (c *AgentClient) Login(user, code string) (result, errCode string, err error) {
	r, err := c.Action("login", "Username", user, "OTC", code)
	if err != nil {
		return "", "", err
	}
	return r.Result, r.Error, nil
}

// Action sends action with the agent's Version and Secret and further
// name/value pairs to c.Path.
func (c *AgentClient) Action(action string, pairs ...string) (*Response, error) {
	all := append([]string{"Version", c.Version, "Secret", c.Secret, "Action", action}, pairs...)
	return c.Do(c.Path, SASRequest(all...))
}

// Do posts xmlBody to path (such as /pinsafe/AgentXML) and parses the
// SASResponse.
func (c *AgentClient) Do(path, xmlBody string) (*Response, error) {
	return post(c.HTTP, c.BaseURL+path, xmlBody)
}

// Get fetches path (with its query) and returns status, content type and
// body.
func (c *AgentClient) Get(path string) (status int, contentType string, body []byte, err error) {
	return get(c.HTTP, c.BaseURL+path)
}
