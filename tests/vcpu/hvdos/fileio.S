# DOS .COM: create a file, write to it, close, reopen, read it back into a
# buffer, print the buffer (AH=09h), exit.
        .code16
        .text
        .globl _start
_start:
        mov     $0x3c, %ah              # create
        xor     %cx, %cx
        mov     $fname, %dx
        int     $0x21
        jc      fail
        mov     %ax, %bx
        mov     $0x40, %ah              # write
        mov     $(textend - text), %cx
        mov     $text, %dx
        int     $0x21
        jc      fail
        mov     $0x3e, %ah              # close
        int     $0x21
        mov     $0x3d00, %ax            # open read-only
        mov     $fname, %dx
        int     $0x21
        jc      fail
        mov     %ax, %bx
        mov     $0x3f, %ah              # read
        mov     $64, %cx
        mov     $buf, %dx
        int     $0x21
        jc      fail
        mov     %ax, %si                # bytes read
        movb    $'$', buf(%si)
        mov     $0x3e, %ah              # close
        int     $0x21
        mov     $0x09, %ah              # print what was read
        mov     $buf, %dx
        int     $0x21
        mov     $0x4c00, %ax
        int     $0x21
fail:   mov     $0x09, %ah
        mov     $failmsg, %dx
        int     $0x21
        mov     $0x4c01, %ax
        int     $0x21
fname:  .asciz  "HVSHIM.TXT"
text:   .ascii  "file I/O through INT 21h works"
textend:
failmsg: .ascii "FILE I/O FAILED$"
buf:    .space  80
