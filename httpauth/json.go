package httpauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"
)

// Details of bodies that cannot be decoded.
const (
	detailNotJSON     = "Request body is not valid JSON."
	detailNotAnObject = "Request body must be a JSON object."
	detailUnreadable  = "Request body could not be read."
	detailDuplicate   = "Request body must not give a member more than once."
)

// decode reads r's JSON body into dst, which must point to a struct.
//
// The body is read through http.MaxBytesReader (413 beyond the limit). A
// body that is empty or only white space leaves dst as it is, whatever the
// Content-Type, as Django REST Framework does: the flows then report the
// missing fields. Any other body must be declared application/json (a
// charset parameter, if any, must be UTF-8; 415 otherwise) and hold exactly
// one JSON object: malformed JSON, members of the wrong type and trailing
// data are a 400 invalid_input. So are a member given twice and a member
// whose name differs from one of dst's JSON field names only in case
// (encoding/json would fill the field from it, and from the last of
// duplicates, so that a body could say one thing to a reader or a proxy
// that checks it and another to us). Other unknown members are ignored.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request, dst any) error {
	if r.Body == nil {
		return nil
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return badInput(detailUnreadable, nil)
	}
	data = bytes.TrimLeft(data, " \t\r\n")
	if len(data) == 0 {
		return nil
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		return &problemError{problem{status: http.StatusUnsupportedMediaType, code: codeUnsupportedMediaType, detail: detailMediaType}}
	}
	if data[0] != '{' {
		return badInput(detailNotAnObject, nil)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			msg := msgInvalidValue
			if typeErr.Type != nil && typeErr.Type.Kind() == reflect.String {
				msg = msgNotAString
			}
			return badInput(detailInvalidInput, map[string][]string{typeErr.Field: {msg}})
		}
		return badInput(detailNotJSON, nil)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badInput(detailNotJSON, nil)
	}
	return checkMembers(data, dst)
}

// checkMembers walks the members of the JSON object in data, which
// decoded into dst without error, and refuses one given twice or one whose
// name differs from a field name of dst only in case, in the fold
// encoding/json matches names with (strings.EqualFold: "EMAIL", "Email",
// and even "paſſword", with U+017F LATIN SMALL LETTER LONG S, for
// "password"). Only the object's own members are walked: the kit's
// request bodies are flat.
func checkMembers(data []byte, dst any) error {
	fields := jsonFields(reflect.TypeOf(dst))
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // the opening brace
		return badInput(detailNotJSON, nil)
	}
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return badInput(detailNotJSON, nil)
		}
		name, _ := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return badInput(detailNotJSON, nil)
		}
		for _, field := range fields {
			if name != field && strings.EqualFold(name, field) {
				return badInput(detailInvalidInput, map[string][]string{field: {fmt.Sprintf(msgFieldNameCase, field)}})
			}
		}
		if seen[name] {
			if slices.Contains(fields, name) {
				return badInput(detailInvalidInput, map[string][]string{name: {msgDuplicateField}})
			}
			// An unknown member is not echoed back.
			return badInput(detailDuplicate, nil)
		}
		seen[name] = true
	}
	return nil
}

// jsonFields returns the JSON names of the fields of the struct that t
// points to.
func jsonFields(t reflect.Type) []string {
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil
	}
	t = t.Elem()
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		names = append(names, name)
	}
	return names
}

// badInput is a 400 invalid_input about the request body.
func badInput(detail string, fields map[string][]string) error {
	return &problemError{problem{status: http.StatusBadRequest, code: codeInvalidInput, detail: detail, fields: fields}}
}

// isJSON reports whether a Content-Type value is application/json, with no
// charset or a UTF-8 one (RFC 8259 allows no other).
func isJSON(contentType string) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8") || strings.EqualFold(cs, "utf8")
}

// writeJSON writes v as the JSON body of a response with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only the Handler's own response types reach here; they always
		// marshal.
		writeProblem(w, problem{status: http.StatusInternalServerError, code: codeInternal, detail: detailInternal})
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// writeNoContent writes a 204.
func writeNoContent(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
