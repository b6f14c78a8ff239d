using System.Reflection;

namespace Turn.Hosting;

/// <summary>The product version, from the assembly's informational version without build metadata.</summary>
internal static class TurnVersion
{
    public static string Current { get; } = Read();

    private static string Read()
    {
        string? version = typeof(TurnVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        return version?.Split('+')[0] ?? "0.0.0";
    }
}
