/* Rust's standard library on Windows asks bcryptprimitives.dll for
 * ProcessPrng (Windows 10+); wine 8 does not have it. This shim gives it,
 * on top of RtlGenRandom (advapi32!SystemFunction036). Built with mingw by
 * .ci/wine-tests and copied into the throwaway wine prefix; never shipped.
 */
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG n = len > 0x7fffffff ? 0x7fffffff : (ULONG)len;
        if (!SystemFunction036(data, n)) return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
