# DOS .COM: print a string with INT 21h/AH=09h, exit with AH=4Ch.
        .code16
        .text
        .globl _start
_start:
        mov     $msg, %dx
        mov     $0x09, %ah
        int     $0x21
        mov     $'!', %dl
        mov     $0x02, %ah
        int     $0x21
        mov     $0x4c00, %ax
        int     $0x21
msg:    .ascii  "Hello, world from hvdos on hvshim$"
