using System.Text;

namespace Turn.Auth;

/// <summary>
/// Prepares passwords and realms before the long-term key is derived. RFC 8489 §9.2.2 names
/// the OpaqueString profile (RFC 8265 §4.2); its own vectors (RFC 5769 §2.4, RFC 8489 B.1) were
/// made with SASLprep (RFC 4013), which maps "The&lt;U+00AD&gt;M&lt;U+00AA&gt;tr&lt;U+2168&gt;" to
/// "TheMatrIX". Both leave ASCII untouched, which is what every deployed client sends; this
/// applies SASLprep's mapping, NFKC normalisation and prohibited-output checks so the
/// vectors hold.
/// </summary>
internal static class Saslprep
{
    /// <summary>Returns the prepared string, or null when it holds a prohibited character.</summary>
    public static string? Prepare(string input)
    {
        if (IsAscii(input))
        {
            return ContainsAsciiControl(input) ? null : input;
        }

        var mapped = new StringBuilder(input.Length);
        foreach (Rune rune in input.EnumerateRunes())
        {
            int c = rune.Value;
            if (IsMappedToNothing(c))
            {
                continue;
            }

            if (IsNonAsciiSpace(c))
            {
                mapped.Append(' ');
                continue;
            }

            mapped.Append(rune.ToString());
        }

        string normalized = Nfkc.Normalize(mapped.ToString());
        foreach (Rune rune in normalized.EnumerateRunes())
        {
            if (IsProhibited(rune.Value))
            {
                return null;
            }
        }

        return normalized;
    }

    private static bool IsAscii(string s)
    {
        foreach (char c in s)
        {
            if (c > 0x7F)
            {
                return false;
            }
        }

        return true;
    }

    private static bool ContainsAsciiControl(string s)
    {
        foreach (char c in s)
        {
            if (c < 0x20 || c == 0x7F)
            {
                return true;
            }
        }

        return false;
    }

    // RFC 3454 Table B.1.
    private static bool IsMappedToNothing(int c)
        => c is 0x00AD or 0x034F or 0x1806 or (>= 0x180B and <= 0x180D) or (>= 0x200B and <= 0x200D)
            or 0x2060 or (>= 0xFE00 and <= 0xFE0F) or 0xFEFF;

    // RFC 3454 Table C.1.2.
    private static bool IsNonAsciiSpace(int c)
        => c is 0x00A0 or 0x1680 or (>= 0x2000 and <= 0x200B) or 0x202F or 0x205F or 0x3000;

    // RFC 4013 §2.3: tables C.1.2, C.2.1, C.2.2, C.3, C.4, C.5, C.6, C.7, C.8, C.9 of RFC 3454.
    private static bool IsProhibited(int c)
        => IsNonAsciiSpace(c)
            || c < 0x20 || (c >= 0x7F && c <= 0x9F)
            || c is 0x06DD or 0x070F or 0x180E or 0x200C or 0x200D or 0x2028 or 0x2029
            || (c >= 0x2060 && c <= 0x2063) || (c >= 0x206A && c <= 0x206F) || c == 0xFEFF
            || (c >= 0xFFF9 && c <= 0xFFFD) || (c >= 0x1D173 && c <= 0x1D17A)
            || (c >= 0xE000 && c <= 0xF8FF) || (c >= 0xF0000 && c <= 0xFFFFD) || (c >= 0x100000 && c <= 0x10FFFD)
            || (c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE
            || (c >= 0xD800 && c <= 0xDFFF)
            || (c >= 0x2FF0 && c <= 0x2FFB)
            || c is 0x0340 or 0x0341 or 0x200E or 0x200F || (c >= 0x202A && c <= 0x202E)
            || c == 0xE0001 || (c >= 0xE0020 && c <= 0xE007F);
}
