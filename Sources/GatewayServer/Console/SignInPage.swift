/// The sign-in form (`/console/signin`): an API token, no session yet; its CSRF token is the
/// `xgw_signin` cookie's (see `Console.signIn`).
enum SignInPage {
    static let template = """
        {{#error}}<p class="error" role="alert" id="signin-error">{{error}}</p>{{/error}}
        <form class="stack" method="post" action="/console/signin">
          <input type="hidden" name="_csrf" value="{{csrf}}">
          <label for="token">API 令牌 API token
            <input id="token" name="token" type="password" autocomplete="off" required autofocus
              aria-describedby="token-help"{{#error}} aria-invalid="true"{{/error}}>
          </label>
          <p id="token-help" class="muted">运维令牌可查看全部；参与方令牌只能查看自己的收件箱、发件箱和回执。
          The ops token sees everything; a participant's token only its own inbox, outbox and receipts.</p>
          <button type="submit">登录 Sign in</button>
        </form>
        """
}
