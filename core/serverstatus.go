package core

import "time"

// ServerStatus is what the process running the HTTPS server knows about
// it and nothing else does: where it answers, the certificate it
// presents and where the records are kept. A console attached over the
// admin API (#12) shows it in its status bar and on the Server screen,
// as the console running the server shows its own.
type ServerStatus struct {
	// URLs are the addresses phones and agents reach the server at;
	// none while it is not running.
	URLs        []string          `json:"urls"`
	Certificate CertificateStatus `json:"certificate"`
	Store       StoreStatus       `json:"store"`
	// DataDir and KeyDir are the server's data and key directories,
	// absolute, as it opened them. A command attached over the admin
	// socket needs them to refuse writing a backup into them (backup
	// --out): the service may have been started with another --key-dir
	// than the command knows. A paired remote console is on another
	// machine, where they name nothing: it is not told (LocalAdmin).
	DataDir string `json:"data_dir,omitempty"`
	KeyDir  string `json:"key_dir,omitempty"`
}

// CertificateStatus describes the certificate the server presents.
type CertificateStatus struct {
	Fingerprint string `json:"fingerprint,omitempty"`
	// FromFiles: the administrator's files (server.tls_cert/tls_key);
	// false: the certificate Provisio generated.
	FromFiles bool      `json:"from_files"`
	Names     []string  `json:"names,omitempty"`
	NotAfter  time.Time `json:"not_after"`
	// Problem is why the configured files are not served, one sentence.
	Problem string `json:"problem,omitempty"`
}

// StoreStatus says where the records are kept: the data file, or an etcd
// cluster with its members, the Provisio servers that are up and the one
// leading the run-once work (issue #16).
type StoreStatus struct {
	Etcd bool `json:"etcd"`
	// Where is the data file's path or the etcd address.
	Where   string        `json:"where"`
	Members []StoreMember `json:"members,omitempty"`
	// Problem is why the members could not be listed.
	Problem string `json:"problem,omitempty"`
	// ThisServer names the server answering; Leader the one that sends
	// mail, trims the log and takes the scheduled backups ("" while none
	// is elected).
	ThisServer string `json:"this_server,omitempty"`
	Leader     string `json:"leader,omitempty"`
	// LeaderProblem is why Leader and Servers are not known, one
	// sentence ("" when they are, elected or not): without a quorum
	// nobody can be elected and etcd cannot say who was, nor who is up.
	LeaderProblem string `json:"leader_problem,omitempty"`
	// Servers names the Provisio servers of the etcd site that are up,
	// Leader first, ThisServer among them: each running server is a
	// candidate in the election while its lease lives, so one stopped
	// drops out at once and one cut off from etcd within
	// etcdstore.LeaderTTL seconds.
	Servers []string `json:"servers,omitempty"`
}

// StoreMember is one etcd member and its health.
type StoreMember struct {
	Name       string `json:"name"`
	Endpoint   string `json:"endpoint"`
	Version    string `json:"version,omitempty"`
	Healthy    bool   `json:"healthy"`
	RaftLeader bool   `json:"raft_leader"`
	Problem    string `json:"problem,omitempty"`
}

// SetServerStatus gives the service the composition root's view of the
// server it runs, for the admin API (GET /v1/server).
func (s *Service) SetServerStatus(fn func() ServerStatus) { s.serverStatus.Store(&fn) }

// ServerStatus returns what SetServerStatus's function reports now; the
// zero value (no addresses: not running) when nothing set it.
func (s *Service) ServerStatus() ServerStatus {
	if fn := s.serverStatus.Load(); fn != nil {
		return (*fn)()
	}
	return ServerStatus{}
}
