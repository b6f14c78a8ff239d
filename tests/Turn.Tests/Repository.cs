namespace Turn.Tests;

/// <summary>The checkout the tests run from: the directory holding turn.sln, above the test assembly.</summary>
internal static class Repository
{
    private static readonly Lazy<string> RootDirectory = new(() =>
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "turn.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"no turn.sln above {AppContext.BaseDirectory}");
    });

    public static string Root => RootDirectory.Value;

    /// <summary>A path below the root, e.g. PathOf("deploy", "systemd", "turn.service").</summary>
    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);
}
