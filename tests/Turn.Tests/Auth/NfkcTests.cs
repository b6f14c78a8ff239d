using System.Globalization;
using System.Text;
using Turn.Auth;
using Xunit;

namespace Turn.Tests.Auth;

/// <summary>
/// The managed NFKC against ICU's (the test host runs with ICU; the daemon does not). Unicode
/// 3.2, which SASLprep names, and ICU's later version agree on every code point 3.2 assigned but
/// five that Corrigendum #4 changed; code points 3.2 did not assign pass through unchanged.
/// </summary>
public sealed class NfkcTests
{
    /// <summary>Corrigendum #4 (2003) changed these CJK compatibility ideographs' decompositions.</summary>
    private static readonly int[] Corrigendum4 = [0x2F868, 0x2F874, 0x2F91F, 0x2F95F, 0x2F9BF];

    [Fact]
    public void IcuRunsInTheTestHost() => Assert.Equal("IX", "\u2168".Normalize(NormalizationForm.FormKC));

    [Theory]
    [InlineData("The\u00adMatrix", "The\u00adMatrix")]
    [InlineData("M\u00aatr\u2168", "MatrIX")]
    [InlineData("\u30de\u30c8\u30ea\u30c3\u30af\u30b9", "\u30de\u30c8\u30ea\u30c3\u30af\u30b9")]
    [InlineData("\uff8f\uff84\uff98\uff6f\uff78\uff7d", "\u30de\u30c8\u30ea\u30c3\u30af\u30b9")] // half-width katakana
    [InlineData("e\u0301", "\u00e9")]
    [InlineData("a\u0328\u0301", "\u0105\u0301")] // ogonek (202) sorts before acute (230), then composes
    [InlineData("a\u0301\u0328", "\u0105\u0301")]
    [InlineData("\u1100\u1161\u11a8", "\uac01")] // Hangul L V T
    [InlineData("\uac00\u11a8", "\uac01")] // Hangul LV + T
    [InlineData("\ufb01", "fi")]
    [InlineData("\u2460", "1")]
    [InlineData("\u0958", "\u0915\u093c")] // composition exclusion: stays decomposed
    [InlineData("\U0001d400", "A")] // mathematical bold capital A
    [InlineData("", "")]
    public void KnownStrings(string input, string expected) => Assert.Equal(expected, Nfkc.Normalize(input));

    [Fact]
    public void EveryCodePointUnicode32Assigned_MatchesIcu_AndTheOthersStayAsTheyAre()
    {
        bool[] unassigned = Unassigned32();
        var differ = new List<string>();
        int compared = 0;
        for (int c = 0; c <= 0x10FFFF; c++)
        {
            if (c is >= 0xD800 and < 0xE000 || Corrigendum4.Contains(c))
            {
                continue;
            }

            string s = char.ConvertFromUtf32(c);
            string ours = Nfkc.Normalize(s);
            string expected = unassigned[c] ? s : s.Normalize(NormalizationForm.FormKC);
            if (ours != expected)
            {
                differ.Add($"U+{c:X4}: {Hex(ours)}, expected {Hex(expected)}");
            }

            compared += unassigned[c] ? 0 : 1;
        }

        Assert.Empty(differ);
        Assert.Equal(232_689 - Corrigendum4.Length, compared); // Unicode 3.2 assigned 232,689 outside the surrogates
    }

    /// <summary>Vectors/unicode-3.2-unassigned.txt: "first last" in hex, one range a line.</summary>
    private static bool[] Unassigned32()
    {
        var unassigned = new bool[0x110000];
        foreach (string line in File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Vectors", "unicode-3.2-unassigned.txt")))
        {
            string[] range = line.Split(' ');
            for (int c = int.Parse(range[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                 c <= int.Parse(range[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture); c++)
            {
                unassigned[c] = true;
            }
        }

        return unassigned;
    }

    [Fact]
    public void RandomSequencesOfStartersAndMarks_MatchIcu()
    {
        // Characters that take part in ordering and composition, from Unicode 3.2's repertoire.
        int[] pool =
        [
            'a', 'e', 'o', 'A', 'U', 0x00C7, 0x00E9, 0x0105, 0x01B0, 0x03B1, 0x0391, 0x0418, 0x05D0, 0x0627,
            0x0915, 0x0B47, 0x0B3E, 0x0BC6, 0x0BBE, 0x0CC6, 0x0CC2, 0x0D46, 0x0D3E, 0x1100, 0x1161, 0x11A8,
            0xAC00, 0xAC01, 0x304B, 0x30AB, 0xFF76, 0x1E0A, 0x1F00, 0x212B, 0x2126, 0xFB01, 0x2168, 0x00AA,
            0x0300, 0x0301, 0x0302, 0x0303, 0x0308, 0x030A, 0x0323, 0x0327, 0x0328, 0x0331, 0x0342, 0x0345,
            0x0344, 0x0343, 0x05B7, 0x05BC, 0x0651, 0x064E, 0x093C, 0x094D, 0x3099, 0x309A, 0x0F71, 0x0F72,
            0x0F74, 0x0F80, 0x20D2, 0x0334, 0x031B, 0x1D165, 0x1D16E, 0x0313, 0x0314,
        ];
        var random = new Random(4013);
        var differ = new List<string>();
        for (int n = 0; n < 50_000; n++)
        {
            var s = new StringBuilder();
            int length = random.Next(1, 7);
            for (int k = 0; k < length; k++)
            {
                s.Append(char.ConvertFromUtf32(pool[random.Next(pool.Length)]));
            }

            string input = s.ToString();
            string ours = Nfkc.Normalize(input);
            string icu = input.Normalize(NormalizationForm.FormKC);
            if (ours != icu)
            {
                differ.Add($"{Hex(input)}: {Hex(ours)} vs ICU {Hex(icu)}");
            }
        }

        Assert.Empty(differ);
    }

    private static string Hex(string s) => string.Join(' ', s.EnumerateRunes().Select(r => $"{r.Value:X4}"));
}
