using System.Diagnostics.CodeAnalysis;

namespace Turn.Fuzz;

/// <summary>
/// A property the code under test must keep on any input. A broken one throws, which afl-fuzz
/// records as a crash, the same as an exception escaping a parser.
/// </summary>
internal static class Invariant
{
    public static void Holds([DoesNotReturnIf(false)] bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException("invariant broken: " + what);
        }
    }
}
