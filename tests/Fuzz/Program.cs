using SharpFuzz;

namespace Turn.Fuzz;

/// <summary>
/// <c>Turn.Fuzz TARGET</c> runs one target under afl-fuzz, reading each input from standard input
/// (SharpFuzz's fork server keeps the process and runs input after input in it).
/// <c>Turn.Fuzz TARGET PATH...</c> runs the target once on each file, or each file of each
/// directory, and reports what threw: the way to replay a crash afl-fuzz saved.
/// </summary>
internal static class Program
{
    private const string Usage = "usage: Turn.Fuzz stun|framing|signal [FILE|DIRECTORY...]";

    public static int Main(string[] args)
    {
        ReadOnlySpanAction? target = args.Length > 0 ? Target(args[0]) : null;
        if (target is null)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        if (args.Length > 1)
        {
            return Replay(target, args[1..]);
        }

        var input = new MemoryStream();
        Fuzzer.Run(stream =>
        {
            input.SetLength(0);
            stream.CopyTo(input);
            target(input.GetBuffer().AsSpan(0, (int)input.Length));
        });
        return 0;
    }

    private static ReadOnlySpanAction? Target(string name) => name switch
    {
        "stun" => StunTarget.Run,
        "framing" => FramingTarget.Run,
        "signal" => SignalTarget.Run,
        _ => null,
    };

    private static int Replay(ReadOnlySpanAction target, string[] paths)
    {
        int failed = 0;
        int passed = 0;
        foreach (string path in paths)
        {
            string[] files = Directory.Exists(path) ? Directory.GetFiles(path) : [path];
            Array.Sort(files, StringComparer.Ordinal);
            foreach (string file in files)
            {
                try
                {
                    target(File.ReadAllBytes(file));
                    passed++;
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    failed++;
                    Console.WriteLine($"{file}: {e}");
                }
            }
        }

        Console.WriteLine($"{passed} passed, {failed} failed");
        return failed == 0 ? 0 : 1;
    }
}
