/*
 * mirrored-ring: a ring buffer whose memory appears twice, back to back, so that reads and
 * writes that wrap around the end are single memcpy calls -- the classic macOS trick
 * (TPCircularBuffer, audio and packet queues) built from Mach VM calls:
 *
 *   mach_vm_allocate  2 x size, anywhere        reserve the whole window
 *   mach_vm_remap     first half -> second half, VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE, copy=FALSE
 *                     (the second half becomes another view of the same pages)
 *   mach_vm_deallocate                          release both views at the end
 *
 * The same file builds on macOS:   cc mirrored_ring.c          (Mach calls live in libSystem)
 * and on Linux with hvshim:        hvshim-cc mirrored_ring.c   (or link -lhvshim)
 */
#include <mach/mach.h>
#include <mach/mach_vm.h>
#include <stdio.h>
#include <string.h>

struct ring {
	char *base;      /* 2 * size bytes: [0, size) and its mirror [size, 2 * size) */
	size_t size;     /* a multiple of the page size */
	size_t head;     /* next byte to read, in [0, size) */
	size_t used;     /* bytes queued */
};

static kern_return_t ring_create(struct ring *r, size_t size) {
	mach_vm_address_t base = 0, mirror;
	vm_prot_t cur, max;
	kern_return_t kr;

	kr = mach_vm_allocate(mach_task_self(), &base, 2 * size, VM_FLAGS_ANYWHERE);
	if (kr != KERN_SUCCESS) return kr;
	mirror = base + size;
	kr = mach_vm_remap(mach_task_self(), &mirror, size, 0, VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE,
	                   mach_task_self(), base, FALSE, &cur, &max, VM_INHERIT_DEFAULT);
	if (kr != KERN_SUCCESS || mirror != base + size) {
		mach_vm_deallocate(mach_task_self(), base, 2 * size);
		return kr != KERN_SUCCESS ? kr : KERN_FAILURE;
	}
	r->base = (char *)(uintptr_t)base;
	r->size = size;
	r->head = r->used = 0;
	return KERN_SUCCESS;
}

static void ring_destroy(struct ring *r) {
	mach_vm_deallocate(mach_task_self(), (mach_vm_address_t)(uintptr_t)r->base, 2 * r->size);
}

/* One memcpy each way, however the data wraps. */
static size_t ring_write(struct ring *r, const void *data, size_t n) {
	if (n > r->size - r->used) n = r->size - r->used;
	memcpy(r->base + (r->head + r->used) % r->size, data, n);
	r->used += n;
	return n;
}

static size_t ring_read(struct ring *r, void *out, size_t n) {
	if (n > r->used) n = r->used;
	memcpy(out, r->base + r->head, n);
	r->head = (r->head + n) % r->size;
	r->used -= n;
	return n;
}

int main(void) {
	struct ring r;
	unsigned char chunk[1000];
	unsigned long long produced = 0, consumed = 0, wraps;
	size_t size = 4 * vm_page_size, i, n;
	kern_return_t kr = ring_create(&r, size);

	if (kr != KERN_SUCCESS) {
		fprintf(stderr, "ring_create failed: kern_return_t %d\n", kr);
		return 1;
	}
	printf("ring of %zu bytes at %p, mirror at %p\n", r.size, (void *)r.base, (void *)(r.base + r.size));

	/* The mirror is the same memory: a byte written in one view is visible in the other. */
	r.base[5] = 'x';
	if (r.base[r.size + 5] != 'x') {
		fprintf(stderr, "the second view does not mirror the first\n");
		return 1;
	}

	/* Stream 1 MiB through it in chunks of changing sizes (byte k of the stream is k * 7 mod
	 * 256), so that writes and reads straddle the end of the buffer again and again, and
	 * check every byte that comes out. */
	while (consumed < (1u << 20)) {
		n = 1 + (size_t)(produced % 997);
		for (i = 0; i < n; ++i) chunk[i] = (unsigned char)((produced + i) * 7);
		produced += ring_write(&r, chunk, n);
		n = ring_read(&r, chunk, 1 + (size_t)(consumed % 613));
		for (i = 0; i < n; ++i)
			if (chunk[i] != (unsigned char)((consumed + i) * 7)) {
				fprintf(stderr, "byte %llu is wrong\n", consumed + i);
				return 1;
			}
		consumed += n;
	}
	wraps = consumed / r.size;
	printf("%llu bytes through the ring, wrapped %llu times, every read and write one memcpy\n", consumed, wraps);
	ring_destroy(&r);
	printf("mirrored-ring: done\n");
	return 0;
}
