package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Tokens the stub UAA knows. The gateway strips a leading "bearer" before
// asking UAA, and forwards the whole Authorization header to the Cloud
// Controller.
const (
	userToken  = "interop-user-token"
	adminToken = "interop-admin-token"
)

// stubs is a minimal UAA (POST /check_token over TLS) and Cloud Controller
// (GET /internal/v4/log_access/<guid>, /v3/apps, /v3/service_instances over
// mutual TLS), enough for the RLP gateway's authorisation.
type stubs struct {
	uaaURL, ccURL string
	uaaChecks     atomic.Int64
	ccChecks      atomic.Int64

	mu      sync.Mutex
	allowed map[string]bool // source ids the user token may read

	servers []*http.Server
}

func startStubs(k *pki) (*stubs, error) {
	s := &stubs{allowed: map[string]bool{}}
	caPEM, err := os.ReadFile(k.ca.caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	uaaCert, err := tls.LoadX509KeyPair(k.gateway.Cert, k.gateway.Key)
	if err != nil {
		return nil, err
	}
	ccCert, err := tls.LoadX509KeyPair(k.ccServer.Cert, k.ccServer.Key)
	if err != nil {
		return nil, err
	}

	uaaMux := http.NewServeMux()
	uaaMux.HandleFunc("POST /check_token", s.checkToken)
	ccMux := http.NewServeMux()
	ccMux.HandleFunc("GET /internal/v4/log_access/{id}", s.logAccess)
	ccMux.HandleFunc("GET /v3/service_instances/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.ccChecks.Add(1)
		http.NotFound(w, r)
	})
	ccMux.HandleFunc("GET /v3/apps", func(w http.ResponseWriter, r *http.Request) {
		s.ccChecks.Add(1)
		_, _ = w.Write([]byte(`{"resources":[]}`))
	})
	ccMux.HandleFunc("GET /v3/service_instances", func(w http.ResponseWriter, r *http.Request) {
		s.ccChecks.Add(1)
		_, _ = w.Write([]byte(`{"resources":[]}`))
	})

	if s.uaaURL, err = s.serve(uaaMux, &tls.Config{Certificates: []tls.Certificate{uaaCert}, MinVersion: tls.VersionTLS12}); err != nil {
		return nil, err
	}
	if s.ccURL, err = s.serve(ccMux, &tls.Config{
		Certificates: []tls.Certificate{ccCert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *stubs) serve(h http.Handler, cfg *tls.Config) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ErrorLog: discardLogger()}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(tls.NewListener(l, cfg)) }()
	return "https://" + l.Addr().String(), nil
}

func (s *stubs) close() {
	for _, srv := range s.servers {
		_ = srv.Close()
	}
}

// allow lets the user token read sourceID.
func (s *stubs) allow(sourceID string) {
	s.mu.Lock()
	s.allowed[sourceID] = true
	s.mu.Unlock()
}

func (s *stubs) checkToken(w http.ResponseWriter, r *http.Request) {
	s.uaaChecks.Add(1)
	if err := r.ParseForm(); err != nil {
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	var scopes []string
	switch r.PostForm.Get("token") {
	case adminToken:
		scopes = []string{"logs.admin", "doppler.firehose"}
	case userToken:
		scopes = []string{"cloud_controller.read", "openid"}
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_token","error_description":"The token is not valid"}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"scope": scopes, "user_id": "interop-user", "client_id": "cf",
	})
}

func (s *stubs) logAccess(w http.ResponseWriter, r *http.Request) {
	s.ccChecks.Add(1)
	id := r.PathValue("id")
	s.mu.Lock()
	ok := s.allowed[id]
	s.mu.Unlock()
	if !ok || strings.TrimSpace(r.Header.Get("Authorization")) != "bearer "+userToken {
		http.NotFound(w, r)
		return
	}
	fmt.Fprint(w, "{}")
}
