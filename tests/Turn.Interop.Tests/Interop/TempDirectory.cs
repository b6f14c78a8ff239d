namespace Turn.Tests.Interop;

/// <summary>A fresh directory under the system temp path, deleted with everything in it on Dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Path = Directory.CreateTempSubdirectory("turn-interop-").FullName;

    public string Path { get; }

    /// <summary>Writes a file in the directory and returns its full path.</summary>
    public string Write(string name, string content)
    {
        string file = System.IO.Path.Combine(Path, name);
        System.IO.File.WriteAllText(file, content);
        return file;
    }

    public string PathOf(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A child still holding a file open; the temp directory will be cleaned up by the system.
        }
    }
}
