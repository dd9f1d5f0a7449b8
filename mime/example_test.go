package mime_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/posthorn/posthorn/mime"
)

func ExampleParse() {
	msg := "From: =?utf-8?q?J=C3=B6rg?= <joerg@example.de>\r\n" +
		"Subject: =?iso-8859-1?q?Gr=FC=DFe?=\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"Sch=F6n!\r\n" +
		"--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*=utf-8''%E2%82%AC.bin\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b--\r\n"
	root, err := mime.Parse(context.Background(), strings.NewReader(msg), int64(len(msg)))
	if err != nil {
		panic(err)
	}
	from, _ := root.Header.Addresses("From")
	fmt.Println(root.Header.Subject(), from[0].Name, from[0].Address)
	root.Leaves(func(path string, p *mime.Part) error {
		if p.ContentType == "text/plain" {
			text, _ := p.ReadAllText()
			fmt.Printf("%s %s %q\n", path, p.ContentType, text)
			return nil
		}
		body, _ := io.ReadAll(p.Body())
		fmt.Printf("%s %s %q %v\n", path, p.ContentType, p.Filename(), body)
		return nil
	})
	// Output:
	// Grüße Jörg joerg@example.de
	// 1 text/plain "Schön!"
	// 2 application/octet-stream "€.bin" [0 1 2]
}

func ExampleBuilder() {
	b := &mime.Builder{
		From:        mime.Address{Name: "Jörg", Address: "joerg@example.de"},
		To:          []mime.Address{{Address: "bob@example.com"}},
		Subject:     "Grüße",
		Date:        time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC),
		Text:        "Hello Bob",
		Attachments: []mime.Attachment{{Filename: "cat.gif", Data: []byte("GIF89a")}},
	}
	msg, err := b.Bytes(context.Background())
	if err != nil {
		panic(err)
	}
	root, _ := mime.ParseBytes(context.Background(), msg)
	fmt.Println(root.ContentType, root.Header.Subject())
	root.Leaves(func(path string, p *mime.Part) error {
		body, _ := io.ReadAll(p.Body())
		fmt.Println(path, p.ContentType, p.TransferEncoding, p.Filename(), string(bytes.TrimSpace(body)))
		return nil
	})
	// Output:
	// multipart/mixed Grüße
	// 1 text/plain 7bit  Hello Bob
	// 2 image/gif 7bit cat.gif GIF89a
}
