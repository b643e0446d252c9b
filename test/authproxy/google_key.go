package authproxy

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
)

// ServiceAccountKey makes a Google service account key file, as the Cloud
// console downloads it, whose token_uri is tokenURI; it returns the file's
// content and the public key that verifies its assertions.
func ServiceAccountKey(email, tokenURI string) ([]byte, *rsa.PublicKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	data, err := json.MarshalIndent(map[string]string{
		"type":           "service_account",
		"project_id":     "test-project",
		"private_key_id": "0123456789abcdef",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   email,
		"client_id":      "100000000000000000001",
		"token_uri":      tokenURI,
	}, "", "  ")
	return data, &key.PublicKey, err
}
