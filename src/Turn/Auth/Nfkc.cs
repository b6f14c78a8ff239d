using System.Text;

namespace Turn.Auth;

/// <summary>
/// Unicode normalisation form KC (UAX #15) over the Unicode 3.2 tables SASLprep names
/// (RFC 4013 §2.2, RFC 3454 §1.2), in managed code so the daemon needs no ICU: compatibility
/// decomposition, canonical ordering, canonical composition. Code points Unicode 3.2 did not
/// assign pass through unchanged.
/// </summary>
internal static partial class Nfkc
{
    // Hangul syllables decompose and compose by rule (Unicode 3.2 §3.12).
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    public static string Normalize(string input)
    {
        var code = new List<int>(input.Length);
        foreach (Rune rune in input.EnumerateRunes())
        {
            Decompose(rune.Value, code);
        }

        Reorder(code);
        Compose(code);
        var output = new StringBuilder(code.Count);
        foreach (int c in code)
        {
            output.Append(new Rune(c));
        }

        return output.ToString();
    }

    private static void Decompose(int c, List<int> into)
    {
        int s = c - SBase;
        if (s is >= 0 and < SCount)
        {
            into.Add(LBase + (s / NCount));
            into.Add(VBase + (s % NCount / TCount));
            if (s % TCount != 0)
            {
                into.Add(TBase + (s % TCount));
            }

            return;
        }

        int i = DecompositionKeys.BinarySearch(c);
        if (i < 0)
        {
            into.Add(c);
            return;
        }

        foreach (int d in DecompositionData[DecompositionStarts[i]..DecompositionStarts[i + 1]])
        {
            into.Add(d);
        }
    }

    /// <summary>Sorts each run of non-starters by combining class, keeping equal classes in order.</summary>
    private static void Reorder(List<int> code)
    {
        for (int i = 1; i < code.Count; i++)
        {
            int c = code[i];
            int cc = CombiningClass(c);
            if (cc == 0)
            {
                continue;
            }

            int j = i;
            while (j > 0 && CombiningClass(code[j - 1]) > cc)
            {
                code[j] = code[j - 1];
                j--;
            }

            code[j] = c;
        }
    }

    /// <summary>Replaces each starter and a later character it is not blocked from by their primary composite.</summary>
    private static void Compose(List<int> code)
    {
        int starter = -1;
        int lastClass = 0;
        int kept = 0;
        for (int i = 0; i < code.Count; i++)
        {
            int c = code[i];
            int cc = CombiningClass(c);
            bool blocked = kept - 1 != starter && (lastClass == 0 || lastClass >= cc);
            if (starter >= 0 && !blocked && Composite(code[starter], c) is int composite)
            {
                code[starter] = composite;
                continue;
            }

            if (cc == 0)
            {
                starter = kept;
            }

            lastClass = cc;
            code[kept++] = c;
        }

        code.RemoveRange(kept, code.Count - kept);
    }

    private static int? Composite(int first, int second)
    {
        int l = first - LBase, v = second - VBase;
        if (l is >= 0 and < LCount && v is >= 0 and < VCount)
        {
            return SBase + (((l * VCount) + v) * TCount);
        }

        int s = first - SBase, t = second - TBase;
        if (s is >= 0 and < SCount && s % TCount == 0 && t is > 0 and < TCount)
        {
            return first + t;
        }

        int i = CompositionKeys.BinarySearch(((long)first << 21) | (uint)second);
        return i >= 0 ? CompositionValues[i] : null;
    }

    private static int CombiningClass(int c)
    {
        int i = CombiningKeys.BinarySearch(c);
        return i >= 0 ? CombiningClasses[i] : 0;
    }
}
