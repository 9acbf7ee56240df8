/* SPDX-License-Identifier: Apache-2.0 */
/* Map keys built a whole word at a time. The kernel hashes a key (jhash2)
 * and compares it word by word; a word read right after narrower stores
 * into it cannot be forwarded from the store buffer and stalls the CPU. So
 * the datapath composes each 32-bit word of a key in a register and stores
 * it once, through a union of the key with its words. */
#ifndef PF_BPF_WORDS_H
#define PF_BPF_WORDS_H

/* The u32 whose memory holds b0, b1, b2, b3 in that order. */
static __always_inline __u32 pf_word8(__u8 b0, __u8 b1, __u8 b2, __u8 b3)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return b0 | (__u32)b1 << 8 | (__u32)b2 << 16 | (__u32)b3 << 24;
#else
	return (__u32)b0 << 24 | (__u32)b1 << 16 | (__u32)b2 << 8 | b3;
#endif
}

/* The u32 whose memory holds the u16s h0, h1 in that order. */
static __always_inline __u32 pf_word16(__u16 h0, __u16 h1)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return h0 | (__u32)h1 << 16;
#else
	return (__u32)h0 << 16 | h1;
#endif
}

union pf_ct4_words {
	struct pf_ct4_key k;
	__u32 w[sizeof(struct pf_ct4_key) / 4];
};

union pf_ct6_words {
	struct pf_ct6_key k;
	__u32 w[sizeof(struct pf_ct6_key) / 4];
};

union pf_host4_words {
	struct pf_host4_key k;
	__u32 w[sizeof(struct pf_host4_key) / 4];
};

union pf_host6_words {
	struct pf_host_key k;
	__u32 w[sizeof(struct pf_host_key) / 4];
};

#endif
