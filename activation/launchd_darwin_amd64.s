// Trampolines into libSystem for launchd_darwin.go: each jumps to the
// dynamically imported C function; syscall.syscall calls it by address.

#include "textflag.h"

TEXT switchboard_launch_activate_socket_trampoline<>(SB),NOSPLIT,$0-0
	JMP	switchboard_launch_activate_socket(SB)

GLOBL	·launchActivateSocketTrampolineAddr(SB), RODATA, $8
DATA	·launchActivateSocketTrampolineAddr(SB)/8, $switchboard_launch_activate_socket_trampoline<>(SB)

TEXT switchboard_free_trampoline<>(SB),NOSPLIT,$0-0
	JMP	switchboard_free(SB)

GLOBL	·freeTrampolineAddr(SB), RODATA, $8
DATA	·freeTrampolineAddr(SB)/8, $switchboard_free_trampoline<>(SB)
