export function App() {
  return (
    <main>
      <h1>Hearth</h1>
    </main>
  );
}
