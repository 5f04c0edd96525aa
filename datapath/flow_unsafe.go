package datapath

import "unsafe"

// flowWords is the size of FlowKey in 64-bit words. flow_test.go checks
// that FlowKey has no padding and that this matches unsafe.Sizeof.
const flowWords = int(unsafe.Sizeof(FlowKey{})) / 8

// keyWords views k as an array of 64-bit words. FlowKey's alignment is 8
// (it holds a uint64) and it has no padding, so every word is defined.
func keyWords(k *FlowKey) *[flowWords]uint64 {
	return (*[flowWords]uint64)(unsafe.Pointer(k))
}

// maskWords views m as an array of 64-bit words.
func maskWords(m *Mask) *[flowWords]uint64 {
	return (*[flowWords]uint64)(unsafe.Pointer(m))
}
