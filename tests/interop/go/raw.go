package main

// Raw gRPC calls with hand-made bytes: what a broken or hostile client
// might send to DoPut and DoGet. Used by the -garbage mode; prints the
// status code and message the server answered for each case.

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error)      { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error { *(v.(*[]byte)) = append([]byte(nil), data...); return nil }
func (rawCodec) Name() string                       { return "proto" }

type rawCase struct {
	Name   string   `json:"name"`
	Method string   `json:"-"`
	Msgs   [][]byte `json:"-"`
	Code   string   `json:"code"`
	Msg    string   `json:"message"`
}

func runRaw(addr string, cases []rawCase) []rawCase {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fail("raw connect: %v", err)
	}
	defer conn.Close()
	for i := range cases {
		c := &cases[i]
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		desc := &grpc.StreamDesc{StreamName: c.Method, ServerStreams: true, ClientStreams: true}
		st, err := conn.NewStream(ctx, desc, "/arrow.flight.protocol.FlightService/"+c.Method,
			grpc.ForceCodec(rawCodec{}))
		if err == nil {
			for _, m := range c.Msgs {
				m := m
				if err = st.SendMsg(&m); err != nil {
					break
				}
			}
			st.CloseSend()
			for err == nil {
				var out []byte
				err = st.RecvMsg(&out)
			}
		}
		s, _ := status.FromError(err)
		c.Code = s.Code().String()
		c.Msg = s.Message()
		cancel()
	}
	return cases
}

func garbageCases(table string) []rawCase {
	desc := append([]byte{0x08, 0x01, 0x1a, byte(len(table))}, table...)
	withDesc := func(rest ...byte) []byte {
		m := append([]byte{0x0a, byte(len(desc))}, desc...)
		return append(m, rest...)
	}
	header := make([]byte, 0, 80)
	header = append(header, 0x12, 0x40)
	header = append(header, make([]byte, 10)...)
	return []rawCase{
		{Name: "not protobuf", Method: "DoPut", Msgs: [][]byte{{0xff, 0xff, 0xff, 0xff}}},
		{Name: "garbage ipc header", Method: "DoPut", Msgs: [][]byte{withDesc(0x12, 0x04, 'a', 'b', 'c', 'd')}},
		{Name: "truncated header", Method: "DoPut", Msgs: [][]byte{withDesc(header...)}},
		{Name: "descriptor only", Method: "DoPut", Msgs: [][]byte{withDesc()}},
		{Name: "no descriptor", Method: "DoPut", Msgs: [][]byte{{0x12, 0x02, 0x01, 0x02}}},
		{Name: "empty stream", Method: "DoPut", Msgs: nil},
		{Name: "binary ticket", Method: "DoGet", Msgs: [][]byte{{0x0a, 0x03, 0x00, 0xfe, 0x01}}},
		{Name: "not a ticket", Method: "DoGet", Msgs: [][]byte{{0x0f, 0x0f}}},
		{Name: "bad descriptor", Method: "GetFlightInfo", Msgs: [][]byte{{0x08}}},
		{Name: "no ticket", Method: "DoGet", Msgs: nil},
		{Name: "no descriptor for GetFlightInfo", Method: "GetFlightInfo", Msgs: nil},
		{Name: "no action", Method: "DoAction", Msgs: nil},
		{Name: "no criteria", Method: "ListFlights", Msgs: nil},
	}
}

var _ = fmt.Sprintf
