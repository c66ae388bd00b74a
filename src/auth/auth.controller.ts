import { Body, Controller, Get, HttpCode, Post, UseGuards } from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { AuthUser, CurrentUser, Public } from '../common/auth.decorators';
import { LoginGuard } from './auth.guards';
import { AuthThrottlerGuard } from './auth-throttle';
import { AccessToken, AuthService } from './auth.service';
import {
  FormLoginDto,
  JsonLoginDto,
  SignupDto,
  TokenResponseDto,
  UserResponseDto,
} from './dto/auth.dto';
import { ApiBodyByType } from '../common/api-document.decorators';
import { ApiErrors, ApiUserAuth } from '../common/api-errors';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @Post('signup')
  @UseGuards(AuthThrottlerGuard)
  @ApiOperation({ operationId: 'signup', summary: 'Create a user account' })
  @ApiCreatedResponse({ type: UserResponseDto })
  @ApiErrors(400, {
    409: '`email_taken`: an account with this email exists',
    429: '`too_many_requests` (per client address), with `Retry-After`',
  })
  signup(@Body() body: SignupDto): Promise<UserResponseDto> {
    return this.auth.signup(body.email, body.password);
  }

  @Public()
  @Post('login')
  @HttpCode(200)
  // The address throttle runs first: a throttled request never reaches the password check.
  @UseGuards(AuthThrottlerGuard, LoginGuard)
  @ApiOperation({
    operationId: 'login',
    summary: 'Exchange email and password for a bearer token (OAuth2 password form or JSON)',
    description:
      'The OAuth2 token endpoint of the password grant (RFC 6749 §4.3): Swagger UI’s Authorize ' +
      'posts `username` (the email) and `password` here as a form.',
  })
  @ApiConsumes('application/x-www-form-urlencoded', 'application/json')
  @ApiExtraModels(FormLoginDto, JsonLoginDto)
  @ApiBody({ schema: { $ref: getSchemaPath(JsonLoginDto) } })
  @ApiBodyByType({
    'application/x-www-form-urlencoded': { $ref: getSchemaPath(FormLoginDto) },
    'application/json': { $ref: getSchemaPath(JsonLoginDto) },
  })
  @ApiOkResponse({ type: TokenResponseDto })
  @ApiErrors(400, {
    401: '`invalid_credentials`: wrong email or password (the same answer for both)',
    429: '`too_many_requests` (per client address) or `too_many_failed_logins` (per email), with `Retry-After`',
  })
  login(@CurrentUser() user: AuthUser): Promise<AccessToken> {
    return this.auth.issueToken(user);
  }

  @Get('me')
  @ApiUserAuth()
  @ApiOperation({ operationId: 'getCurrentUser', summary: 'The signed-in user' })
  @ApiOkResponse({ type: UserResponseDto })
  me(@CurrentUser() user: AuthUser): Promise<UserResponseDto> {
    return this.auth.me(user);
  }
}
